"""CDS Hooks 2.0 security: client JWTs and a local JWKS server, CORS, the card source and links.

Keys and tokens are made here (cryptography, PyJWT); the JWKS is served by a thread on
127.0.0.1. Nothing leaves the machine.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from service import create_app
from service.config import load_config
from service.domain.intake_validator import validate_intake
from service.domain.wording import SURFACE_WORDS
from service.exceptions import ConfigError
from service.interop.cds import jwt_auth as cds_jwt
from service.interop.cds.cards import (
    INTERVIEW_PATH,
    interview_url,
)
from service.interop.cds.jwt_auth import JwksCache, TokenRejected
from service.interop.cds.replay import ReplayCache, ReplayCacheFull, SharedReplayCache
from tests.helpers import ROOT, vignettes
from tests.helpers.cds import call as _call
from tests.helpers.cds import qr as _qr
from tests.helpers.cds import validator
from tests.helpers.fhir import URLS
from tools import live_server

INTAKE_LINK_LABEL = SURFACE_WORDS["cds.link.intake"]
INTERVIEW_LINK_LABEL = SURFACE_WORDS["cds.link.interview"]
SMART_LINK_LABEL = SURFACE_WORDS["cds.link.smart"]

# Each test builds its own app with its own issuers and keys (and one runs gunicorn).
pytestmark = pytest.mark.slow

CARDS = validator("cds-cards")
VIGNETTES = vignettes()

PUBLIC = "https://triage.example.org"
# The canonical base stays the one the test QuestionnaireResponses name (tests/helpers/fhir.py);
# unset, it would follow PUBLIC to https://triage.example.org/fhir.
FHIR_BASE = URLS.base
SERVICE = "/cds-services/forefoot-triage"
ISSUER = "https://ehr.example.org"
OTHER_ISSUER = "https://other-ehr.example.org"
ORIGIN = "https://sandbox.cds-hooks.org"
API_KEY = "cds-test-key-aaaaaaaaaaaa"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP384R1())
ROGUE_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _jwk(private: Any, kid: str, alg: str) -> dict[str, Any]:
    public = private.public_key()
    algorithm = jwt.algorithms.RSAAlgorithm if alg == "RS384" else jwt.algorithms.ECAlgorithm
    entry: dict[str, Any] = json.loads(algorithm.to_jwk(public))
    return {**entry, "kid": kid, "alg": alg, "use": "sig"}


class JwksServer:
    """A JWKS on 127.0.0.1 in a thread; counts its fetches, can be made slow."""

    def __init__(self) -> None:
        self.jwks: dict[str, Any] = {"keys": []}
        self.fetches = 0
        self.delay = 0.0
        self.redirect_to: str | None = None
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.fetches += 1
                time.sleep(owner.delay)
                if owner.redirect_to and self.path != "/moved.json":
                    self.send_response(302)
                    self.send_header("Location", owner.redirect_to)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = json.dumps(owner.jwks).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except BrokenPipeError:  # the slow test's client gave up: as intended
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _closed_port_url() -> str:
    """A loopback URL nothing listens on: a JWKS server that is down."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = server.server_address[1]
    server.server_close()
    return f"http://127.0.0.1:{port}/jwks.json"


@pytest.fixture(scope="module")
def jwks_server() -> Iterator[JwksServer]:
    server = JwksServer()
    server.jwks = {"keys": [_jwk(RSA_KEY, "rsa-1", "RS384"), _jwk(EC_KEY, "ec-1", "ES384")]}
    yield server
    server.close()


@pytest.fixture(scope="module")
def secure_app(jwks_server: JwksServer) -> Flask:
    return create_app(
        {
            "CDS_ISSUERS": json.dumps({ISSUER: jwks_server.url, OTHER_ISSUER: _closed_port_url()}),
            "PUBLIC_URL": PUBLIC + "/",
            "FHIR_BASE": FHIR_BASE,
            "CORS_ORIGINS": ORIGIN,
            "API_KEYS": API_KEY,
        }
    )


@pytest.fixture
def secure(secure_app: Flask) -> FlaskClient:
    return secure_app.test_client()


def _token(
    path: str = SERVICE,
    *,
    key: Any = RSA_KEY,
    alg: str = "RS384",
    kid: str = "rsa-1",
    headers: dict[str, Any] | None = None,
    **claims: Any,
) -> str:
    now = int(time.time())
    payload = {
        "iss": ISSUER,
        "sub": "ehr-client",
        "aud": PUBLIC + path,
        "iat": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
        **claims,
    }
    payload = {name: value for name, value in payload.items() if value is not None}
    return jwt.encode(
        payload, key, algorithm=alg, headers={"kid": kid, "typ": "JWT", **(headers or {})}
    )


def _post(
    client: FlaskClient, token: str | None, path: str = SERVICE, **headers: str
) -> TestResponse:
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return client.post(path, json=_call(_qr(VIGNETTES[0].intake)), headers=headers)


def _refused(response: TestResponse, token: str | None, error: bool = True) -> str:
    """A 401 problem with a Bearer challenge that never quotes the token; its detail."""
    assert response.status_code == 401, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="forefoot-triage"')
    assert ('error="invalid_token"' in challenge) is error
    assert 'ApiKey realm="forefoot-triage"' in challenge  # the alternative for non-EHR callers
    if token is not None:
        for part in token.split("."):
            if len(part) > 8:
                assert part not in response.get_data(as_text=True)
                assert part not in challenge
    detail: str = response.get_json()["detail"]
    return detail


def test_a_valid_rs384_token_triages(secure: FlaskClient) -> None:
    response = _post(secure, _token())
    assert response.status_code == 200, response.get_data(as_text=True)
    CARDS.validate(response.get_json())
    assert len(response.get_json()["cards"]) == 1


def test_aud_may_be_an_array_holding_the_url_called(secure: FlaskClient) -> None:
    response = _post(secure, _token(aud=[PUBLIC + SERVICE]))
    assert response.status_code == 200, response.get_data(as_text=True)


def test_a_valid_es384_token_triages(secure: FlaskClient) -> None:
    response = _post(secure, _token(key=EC_KEY, alg="ES384", kid="ec-1"))
    assert response.status_code == 200, response.get_data(as_text=True)


def test_discovery_and_feedback_take_their_own_aud(secure: FlaskClient) -> None:
    """aud is the URL of the endpoint called: discovery and feedback have their own."""
    token = _token("/cds-services")
    response = secure.get("/cds-services", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    feedback = {
        "feedback": [
            {"card": str(uuid.uuid4()), "outcome": "accepted", "outcomeTimestamp": "2026-12-01"}
        ]
    }
    path = f"{SERVICE}/feedback"
    headers = {"Authorization": f"Bearer {_token(path)}"}
    assert secure.post(path, json=feedback, headers=headers).status_code == 200
    headers = {"Authorization": f"Bearer {_token(SERVICE)}"}
    _refused(secure.post(path, json=feedback, headers=headers), None)


def test_missing_token_is_401_with_a_bare_challenge(secure: FlaskClient) -> None:
    response = _post(secure, None)
    assert "Authorization" in _refused(response, None, error=False)
    assert _post(secure, None, Authorization="Basic dXNlcjpwYXNz").status_code == 401
    _refused(secure.get("/cds-services"), None, error=False)


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda: _token(key=ROGUE_KEY), "signature"),
        (lambda: _token(aud=PUBLIC + "/cds-services"), "aud"),
        (lambda: _token(aud="https://elsewhere.example.org" + SERVICE), "aud"),
        (lambda: _token(iat=int(time.time()) - 400, exp=int(time.time()) - 100), "expired"),
        (lambda: _token(iat=int(time.time()) + 300, exp=int(time.time()) + 400), "future"),
        (lambda: _token(exp=int(time.time()) + 3600), "5 minutes"),
        (lambda: _token(iss="https://unknown.example.org"), "trusted"),
        (lambda: _token(kid="rsa-unknown"), "kid"),
        (lambda: _token(jti=None), "jti"),
        (lambda: _token(exp=None), "exp"),
        (lambda: _token(headers={"jku": "https://evil.example.org/jwks"}), "jku"),
        (lambda: _token(key="s" * 64, alg="HS384"), "RS384 or ES384"),
        (lambda: _token(key=None, alg="none"), "RS384 or ES384"),
        (lambda: _token(key=RSA_KEY, alg="RS256"), "RS384 or ES384"),
        (lambda: _token(key=RSA_KEY, alg="RS384", kid="ec-1"), "alg"),
        (lambda: "not.a.jwt", "signed JWT"),
    ],
    ids=[
        "bad-signature",
        "aud-of-another-endpoint",
        "aud-of-another-host",
        "expired",
        "iat-in-future",
        "lifetime-too-long",
        "unknown-issuer",
        "unknown-kid",
        "no-jti",
        "no-exp",
        "untrusted-jku",
        "hmac",
        "alg-none",
        "rs256",
        "key-of-another-type",
        "garbage",
    ],
)
def test_a_bad_token_is_401(secure: FlaskClient, make: Callable[[], str], says: str) -> None:
    token = make()
    assert says in _refused(_post(secure, token), token)


def test_refusals_are_in_the_language_asked(secure: FlaskClient) -> None:
    """Every 401 text in Spanish for Accept-Language es (Content-Language es); the challenge's
    error_description stays English (RFC 6750: US-ASCII, for developers)."""
    missing = _post(secure, None, **{"Accept-Language": "es"})
    assert _refused(missing, None, error=False) == (
        "Envíe un JWT de cliente de CDS Hooks 2.0 en la cabecera Authorization (Bearer) o una "
        "clave de API en X-API-Key."
    )
    assert missing.headers["Content-Language"] == "es"
    expired = _token(iat=int(time.time()) - 400, exp=int(time.time()) - 100)
    response = _post(secure, expired, **{"Accept-Language": "es"})
    assert _refused(response, expired) == "El token ha caducado."
    assert 'error_description="The token has expired."' in response.headers["WWW-Authenticate"]
    garbage = _post(secure, "not.a.jwt", **{"Accept-Language": "es"})
    assert _refused(garbage, "not.a.jwt") == "El token bearer no es un JWT firmado."


def test_a_replayed_jti_is_401(secure: FlaskClient) -> None:
    token = _token()
    assert _post(secure, token).status_code == 200
    assert "already used" in _refused(_post(secure, token), token)
    assert _post(secure, _token()).status_code == 200  # a new jti is a new token


def test_jwks_server_down_fails_closed(secure: FlaskClient) -> None:
    """OTHER_ISSUER's JWKS URL has nothing listening: refused, never triaged unverified."""
    token = _token(iss=OTHER_ISSUER)
    assert "could not be fetched" in _refused(_post(secure, token), token)


def test_a_jwks_url_that_redirects_is_refused() -> None:
    """The keys come from the configured URL only: a redirect, even to a working JWKS on the
    same server, is a failed fetch (fail closed), and the new location is never asked."""
    server = JwksServer()
    try:
        server.jwks = {"keys": [_jwk(RSA_KEY, "rsa-1", "RS384")]}
        server.redirect_to = server.url.replace("/jwks.json", "/moved.json")
        verifier = cds_jwt.Verifier({ISSUER: server.url})
        with pytest.raises(TokenRejected) as rejected:
            verifier.verify(_token(), PUBLIC + SERVICE)
        assert rejected.value.reason == "jwks_unavailable"
        assert server.fetches == 1  # the redirect itself; /moved.json was not fetched
        server.redirect_to = None
        assert cds_jwt.Verifier({ISSUER: server.url}).verify(_token(), PUBLIC + SERVICE)
    finally:
        server.close()


def test_a_slow_jwks_server_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    server = JwksServer()
    try:
        server.jwks = {"keys": [_jwk(RSA_KEY, "rsa-1", "RS384")]}
        server.delay = 2.0
        monkeypatch.setattr(cds_jwt, "JWKS_TIMEOUT", 0.3)
        verifier = cds_jwt.Verifier({ISSUER: server.url})
        started = time.monotonic()
        with pytest.raises(TokenRejected) as rejected:
            verifier.verify(_token(), PUBLIC + SERVICE)
        assert rejected.value.reason == "jwks_unavailable"
        assert time.monotonic() - started < 1.5
    finally:
        server.close()


def test_the_jwks_is_cached_and_an_unknown_kid_refetches_at_most_once_per_interval(
    jwks_server: JwksServer,
) -> None:
    clock = [1000.0]
    cache = JwksCache({ISSUER: jwks_server.url}, clock=lambda: clock[0])
    before = jwks_server.fetches
    cache.key(ISSUER, "rsa-1")
    cache.key(ISSUER, "ec-1")
    assert jwks_server.fetches == before + 1  # cached
    for _ in range(3):
        with pytest.raises(TokenRejected):
            cache.key(ISSUER, "rotated-in")
    assert jwks_server.fetches == before + 1  # within the refetch interval: no fetch
    clock[0] += cds_jwt.JWKS_REFETCH_INTERVAL
    with pytest.raises(TokenRejected):
        cache.key(ISSUER, "rotated-in")
    with pytest.raises(TokenRejected):
        cache.key(ISSUER, "rotated-in")
    assert jwks_server.fetches == before + 2  # one refetch for the unknown kid, then none
    clock[0] += cds_jwt.JWKS_TTL
    cache.key(ISSUER, "rsa-1")
    assert jwks_server.fetches == before + 3  # the TTL ran out


def test_a_key_rotated_in_is_found_after_the_refetch_interval(jwks_server: JwksServer) -> None:
    clock = [0.0]
    cache = JwksCache({ISSUER: jwks_server.url}, clock=lambda: clock[0])
    cache.key(ISSUER, "rsa-1")
    saved = jwks_server.jwks
    jwks_server.jwks = {"keys": [*saved["keys"], _jwk(ROGUE_KEY, "rsa-2", "RS384")]}
    try:
        clock[0] += cds_jwt.JWKS_REFETCH_INTERVAL
        assert isinstance(cache.key(ISSUER, "rsa-2").public, rsa.RSAPublicKey)
    finally:
        jwks_server.jwks = saved


def test_a_failed_fetch_is_not_retried_at_once() -> None:
    calls: list[str] = []

    def down(url: str) -> dict[str, Any]:
        calls.append(url)
        raise OSError("refused")

    clock = [0.0]
    cache = JwksCache({ISSUER: "https://ehr.example.org/jwks"}, fetch=down, clock=lambda: clock[0])
    for _ in range(3):
        with pytest.raises(TokenRejected):
            cache.key(ISSUER, "rsa-1")
    assert len(calls) == 1
    clock[0] += cds_jwt.JWKS_RETRY_AFTER_FAILURE
    with pytest.raises(TokenRejected):
        cache.key(ISSUER, "rsa-1")
    assert len(calls) == 2


def test_a_failed_refetch_for_an_unknown_kid_keeps_the_unexpired_keys(
    jwks_server: JwksServer,
) -> None:
    answers: list[Any] = [jwks_server.jwks, OSError("down")]

    def flaky(url: str) -> dict[str, Any]:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return dict(answer)

    clock = [0.0]
    cache = JwksCache({ISSUER: jwks_server.url}, fetch=flaky, clock=lambda: clock[0])
    cache.key(ISSUER, "rsa-1")
    clock[0] += cds_jwt.JWKS_REFETCH_INTERVAL
    with pytest.raises(TokenRejected):
        cache.key(ISSUER, "rotated-in")
    assert answers == []
    assert isinstance(cache.key(ISSUER, "rsa-1").public, rsa.RSAPublicKey)  # no fetch: kept


def test_the_replay_cache_forgets_expired_jtis_and_is_bounded() -> None:
    clock = [100.0]
    cache = ReplayCache(capacity=2, clock=lambda: clock[0])
    assert cache.first_use(ISSUER, "a", 110.0)
    assert not cache.first_use(ISSUER, "a", 110.0)
    assert cache.first_use(OTHER_ISSUER, "a", 110.0)
    with pytest.raises(ReplayCacheFull):
        cache.first_use(ISSUER, "b", 120.0)
    clock[0] = 110.0
    assert cache.first_use(ISSUER, "b", 120.0)  # the expired ones are gone
    assert len(cache) == 1


def test_a_full_replay_cache_is_503(secure_app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    verifier = secure_app.extensions["cds_jwt"]
    monkeypatch.setattr(verifier, "replay", ReplayCache(capacity=0))
    response = _post(secure_app.test_client(), _token())
    assert response.status_code == 503
    assert response.headers["Retry-After"]


def test_an_unusable_shared_replay_store_is_503_never_an_accepted_token(
    secure_app: Flask, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    verifier = secure_app.extensions["cds_jwt"]
    monkeypatch.setattr(verifier, "replay", SharedReplayCache(str(tmp_path / "gone" / "r.db")))
    response = _post(secure_app.test_client(), _token())
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert "replay" in response.get_json()["detail"]


def test_an_api_key_still_works_without_a_token(secure: FlaskClient) -> None:
    """A non-EHR caller with a valid API key; a wrong key is no credential."""
    assert _post(secure, None, **{"X-API-Key": API_KEY}).status_code == 200
    _refused(_post(secure, None, **{"X-API-Key": "wrong-key-aaaaaaaaaaaaaa"}), None, error=False)
    # /v1 still takes the API key only.
    assert secure.post("/v1/triage", json={}).status_code == 401


def test_no_token_reaches_a_log_line(
    secure: FlaskClient, capsys: pytest.CaptureFixture[str]
) -> None:
    token = _token(key=ROGUE_KEY)
    capsys.readouterr()
    _post(secure, token)
    _post(secure, _token(iss=OTHER_ISSUER))
    out = capsys.readouterr()
    logged = out.out + out.err
    assert "cds token rejected" in logged
    for part in token.split("."):
        assert part not in logged


def test_without_issuers_the_paths_stay_as_they_were(client: FlaskClient) -> None:
    """No TRIAGE_CDS_ISSUERS and no API keys: open (the default, for local use)."""
    assert _post(client, None).status_code == 200


@pytest.mark.parametrize(
    ("environ", "says"),
    [
        ({"TRIAGE_CDS_ISSUERS": json.dumps({ISSUER: "https://ehr.example.org/j"})}, "PUBLIC_URL"),
        ({"TRIAGE_CDS_ISSUERS": "{not json", "TRIAGE_PUBLIC_URL": PUBLIC}, "JSON"),
        ({"TRIAGE_CDS_ISSUERS": "{}", "TRIAGE_PUBLIC_URL": PUBLIC}, "non-empty"),
        ({"TRIAGE_CDS_ISSUERS": "/no/such/file.json", "TRIAGE_PUBLIC_URL": PUBLIC}, "file"),
        (
            {
                "TRIAGE_CDS_ISSUERS": json.dumps({ISSUER: "http://ehr.example.org/jwks"}),
                "TRIAGE_PUBLIC_URL": PUBLIC,
            },
            "https",
        ),
        ({"TRIAGE_PUBLIC_URL": "triage.example.org"}, "TRIAGE_PUBLIC_URL"),
        ({"TRIAGE_CORS_ORIGINS": "*"}, "TRIAGE_CORS_ORIGINS"),
        ({"TRIAGE_CORS_ORIGINS": ORIGIN + "/"}, "TRIAGE_CORS_ORIGINS"),
    ],
)
def test_bad_cds_settings_stop_the_start(environ: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        load_config(environ=environ)


def test_issuers_may_come_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "issuers.json"
    path.write_text(json.dumps({ISSUER: "https://ehr.example.org/.well-known/jwks.json"}))
    config = load_config(environ={"TRIAGE_CDS_ISSUERS": str(path), "TRIAGE_PUBLIC_URL": PUBLIC})
    assert config["CDS_ISSUERS"] == {ISSUER: "https://ehr.example.org/.well-known/jwks.json"}
    assert config["PUBLIC_URL"] == PUBLIC


def _preflight(client: FlaskClient, path: str, origin: str) -> TestResponse:
    return client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )


def test_cors_preflight_from_a_configured_origin(secure: FlaskClient) -> None:
    for path in ("/cds-services", SERVICE, f"{SERVICE}/feedback"):
        response = _preflight(secure, path, ORIGIN)
        assert response.status_code == 204
        assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert "POST" in response.headers["Access-Control-Allow-Methods"]
        allowed = response.headers["Access-Control-Allow-Headers"]
        assert {"Authorization", "Content-Type"} <= {h.strip() for h in allowed.split(",")}
        assert int(response.headers["Access-Control-Max-Age"]) > 0
        assert "Origin" in response.headers["Vary"]


def test_cors_is_denied_to_other_origins_and_paths(secure: FlaskClient) -> None:
    denied = _preflight(secure, SERVICE, "https://evil.example.org")
    assert denied.status_code in (401, 405)
    assert "Access-Control-Allow-Origin" not in denied.headers
    other_path = _preflight(secure, "/v1/triage", ORIGIN)
    assert "Access-Control-Allow-Origin" not in other_path.headers
    answer = secure.post("/v1/triage", json={}, headers={"Origin": ORIGIN})
    assert "Access-Control-Allow-Origin" not in answer.headers


def test_cors_labels_the_answers_to_a_configured_origin(secure: FlaskClient) -> None:
    ok = _post(secure, _token(), Origin=ORIGIN)
    assert ok.status_code == 200
    assert ok.headers["Access-Control-Allow-Origin"] == ORIGIN
    refused = _post(secure, None, Origin=ORIGIN)  # the browser may read why
    assert refused.status_code == 401
    assert refused.headers["Access-Control-Allow-Origin"] == ORIGIN
    other = _post(secure, _token(), Origin="https://evil.example.org")
    assert "Access-Control-Allow-Origin" not in other.headers


def test_without_cors_origins_there_is_no_cors(client: FlaskClient) -> None:
    response = _preflight(client, SERVICE, ORIGIN)
    assert "Access-Control-Allow-Origin" not in response.headers


def test_the_card_source_is_the_service_and_links_to_the_deciding_rule(
    secure: FlaskClient,
) -> None:
    vignette = VIGNETTES[0]
    expected = secure.post("/v1/triage", json=vignette.intake, headers={"X-API-Key": API_KEY})
    answer = expected.get_json()
    response = _post(secure, None, **{"X-API-Key": API_KEY})
    (card,) = response.get_json()["cards"]
    rule_id = answer["rationale"][0]["rule_id"]
    version = answer["ruleset"]["version"]
    assert card["source"] == {
        "label": f"forefoot-triage (ruleset {version})",
        "url": f"{PUBLIC}/rules/{rule_id}",
    }
    assert secure.get(f"/rules/{rule_id}").status_code == 200  # the catalogue page exists
    forms = (INTAKE_LINK_LABEL, INTERVIEW_LINK_LABEL)
    cited = [link for link in card["links"] if link["label"] not in forms]
    assert [link["url"] for link in cited] == [c["url"] for c in answer["citations"] if c["url"]]


def _serves_interview(app: Flask) -> bool:
    return any(rule.rule == INTERVIEW_PATH for rule in app.url_map.iter_rules())


def _form_links(card: dict[str, Any]) -> list[dict[str, Any]]:
    forms = (INTAKE_LINK_LABEL, INTERVIEW_LINK_LABEL)
    return [link for link in card["links"] if link["label"] in forms]


def test_the_card_links_to_the_form_when_questions_are_unanswered(secure: FlaskClient) -> None:
    """Danger signs left unanswered (follow_up): an absolute link to the web interview with the
    answers so far where the server has it, else to the intake form; none when all answered."""
    seen = set()
    interview = _serves_interview(secure.application)
    for intake in (VIGNETTES[0].intake, {}, {"symptoms": {"onset": "injury"}}):
        headers = {"X-API-Key": API_KEY}
        answer = secure.post("/v1/triage", json=intake, headers=headers).get_json()
        body = secure.post(SERVICE, json=_call(_qr(intake)), headers=headers).get_json()
        CARDS.validate(body)
        unanswered = bool(answer["follow_up"])
        link = (
            {
                "label": INTERVIEW_LINK_LABEL,
                "url": interview_url(PUBLIC, validate_intake(intake)),
                "type": "absolute",
            }
            if interview
            else {"label": INTAKE_LINK_LABEL, "url": f"{PUBLIC}/", "type": "absolute"}
        )
        assert _form_links(body["cards"][0]) == ([link] if unanswered else [])
        seen.add(unanswered)
    assert seen == {True, False}
    assert secure.get("/").status_code == 200  # the form is there, open


def test_with_a_web_interview_the_link_opens_it_with_the_answers_so_far() -> None:
    """Where GET /interview exists, the link carries each answer given as its form field
    (finding=value; asked and unknown: 'unknown'), so the interview resumes where it stopped.
    Until the page itself is merged, a stand-in route stands for it."""
    app = create_app({"PUBLIC_URL": PUBLIC, "FHIR_BASE": FHIR_BASE})
    if not _serves_interview(app):
        app.add_url_rule(INTERVIEW_PATH, "interview_stand_in", lambda: "")
    client = app.test_client()
    intake = {"patient": {"age_years": None}, "symptoms": {"onset": "injury", "fever": "unknown"}}
    body = client.post(SERVICE, json=_call(_qr(intake))).get_json()
    CARDS.validate(body)
    (link,) = _form_links(body["cards"][0])
    assert link == {
        "label": INTERVIEW_LINK_LABEL,
        "url": f"{PUBLIC}/interview?age_years=unknown&onset=injury&fever=unknown",
        "type": "absolute",
    }
    assert client.get(link["url"].removeprefix(PUBLIC)).status_code == 200


def test_a_smart_launch_link_where_configured() -> None:
    """With TRIAGE_CDS_SMART_LAUNCH_URL, questions left unanswered also get a SMART link."""
    launch = "https://intake.example.org/launch"
    app = create_app({"CDS_SMART_LAUNCH_URL": launch})
    client = app.test_client()
    body = client.post(SERVICE, json=_call(_qr({}))).get_json()
    CARDS.validate(body)
    assert body["cards"][0]["links"][-1] == {
        "label": SMART_LINK_LABEL,
        "url": launch,
        "type": "smart",
    }
    # No public URL: no absolute form link, no source URL.
    assert _form_links(body["cards"][0]) == []
    assert "url" not in body["cards"][0]["source"]
    answered = client.post(SERVICE, json=_call(_qr(VIGNETTES[0].intake))).get_json()
    assert all(link["type"] == "absolute" for link in answered["cards"][0]["links"])


def test_operations_lists_the_new_settings() -> None:
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    names = ("ISSUERS", "FHIR_SERVERS", "SMART_LAUNCH_URL")
    for name in ("TRIAGE_PUBLIC_URL", "TRIAGE_CORS_ORIGINS", *(f"TRIAGE_CDS_{n}" for n in names)):
        assert f"`{name}`" in text


def test_under_gunicorn_concurrent_first_calls_wait_for_a_slow_jwks_and_replays_are_caught() -> (
    None
):
    """The real server (gevent worker, preloaded app): 8 calls at once while the JWKS takes 0.5 s
    all verify (no worker stalls on a lock); with one worker, a replay is refused."""
    server = JwksServer()
    server.jwks = {"keys": [_jwk(RSA_KEY, "rsa-1", "RS384")]}
    server.delay = 0.5
    env = {
        "TRIAGE_CDS_ISSUERS": json.dumps({ISSUER: server.url}),
        "TRIAGE_PUBLIC_URL": PUBLIC,
        "TRIAGE_FHIR_BASE": FHIR_BASE,
    }
    live = live_server.start(env, workers=1)
    try:
        live.wait_ready()
        body = _call(_qr(VIGNETTES[0].intake))

        def call(token: str) -> int:
            headers = {"Authorization": f"Bearer {token}"}
            return live_server.request(live.base, "POST", SERVICE, body, headers)[0]

        tokens = [_token() for _ in range(8)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            assert list(pool.map(call, tokens)) == [200] * 8
        assert call(tokens[0]) == 401  # replayed, to the same (only) worker
        assert call("not-a-token") == 401
        assert tokens[0].split(".")[2] not in live.log()
    finally:
        live.stop()
        server.close()
