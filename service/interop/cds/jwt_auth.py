"""CDS Hooks 2.0 client authentication: signed JWTs of trusted issuers, verified on /cds-services*.

Per CDS Hooks 2.0 ("Trusting CDS Clients"): every call carries `Authorization: Bearer <JWT>`,
signed with the client's private key (asymmetric only; RS384 and ES384 are accepted, `none`
and HMAC never). The header carries `alg`, `kid` and `typ` (JWT), optionally `jku`; the claims
are `iss`, `aud` (the URL of the endpoint called), `exp`, `iat` and `jti`.

- `iss` must be a configured issuer (TRIAGE_CDS_ISSUERS); its public keys come from the JWKS URL
  configured for it, never from the token. A `jku` header, when sent, must be that same URL.
- `kid` is looked up in that JWKS: fetched with a bounded timeout and size, cached for
  JWKS_TTL seconds, refetched on an unknown `kid` at most once per JWKS_REFETCH_INTERVAL. If the
  keys cannot be fetched the call is refused (fail closed): nothing is triaged unverified.
- `aud` must equal TRIAGE_PUBLIC_URL + the path called; `exp` and `iat` are checked with
  CLOCK_SKEW seconds of leeway, and a token may live at most MAX_LIFETIME seconds.
- `jti` is remembered until the token expires and a second use is refused (service/interop/cds/
  replay.py): under gunicorn in an SQLite file all the workers of the server share, so a replay
  reaching another worker is refused too; another replica has its own file and does not see it
  (docs/operations.md). If the cache is full or cannot be used the call is refused with 503.

A refusal is 401 problem+json with `WWW-Authenticate: Bearer ... error="invalid_token"`; its
description is a fixed sentence, never the token or a claim. Nothing here logs a token.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
import structlog
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from flask import Flask, request
from werkzeug.wrappers import Response as ResponseBase

from service.http.auth import API_KEY_HEADER, CHALLENGE, is_valid_key
from service.http.problem_details import problem_body
from service.http.problems import localized_problem
from service.interop.cds.outbound import NO_REDIRECTS
from service.interop.cds.replay import (
    ReplayCache,
    ReplayCacheFull,
    ReplayStore,
    ReplayUnavailable,
    for_this_server,
)

PREFIX = "/cds-services"
ALGORITHMS = ("RS384", "ES384")
CLOCK_SKEW = 60  # seconds of leeway on exp and iat
MAX_LIFETIME = 300 + CLOCK_SKEW  # CDS Hooks: exp SHOULD be no more than 5 minutes after iat
JWKS_TIMEOUT = 3.0  # seconds to connect to and read a JWKS
JWKS_MAX_BYTES = 256 * 1024
JWKS_TTL = 300.0  # seconds a fetched JWKS is used before it is fetched again
JWKS_REFETCH_INTERVAL = 30.0  # an unknown kid refetches at most this often per issuer
JWKS_RETRY_AFTER_FAILURE = 5.0  # a failed fetch is not retried sooner (no 3 s stall per call)
REALM = "forefoot-triage"
_log = structlog.get_logger("service.cds_jwt")


class TokenRejected(Exception):
    """The token is not accepted: `reason` (a short code, logged) and a fixed description."""

    def __init__(self, reason: str, description: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.description = description


def fetch_jwks(url: str) -> dict[str, Any]:
    """The JWKS at a configured URL (https, or http on the loopback), bounded in time and size;
    a redirect is a failure (the keys come from the configured URL only)."""
    req = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    with NO_REDIRECTS.open(req, timeout=JWKS_TIMEOUT) as answer:
        body = answer.read(JWKS_MAX_BYTES + 1)
    if len(body) > JWKS_MAX_BYTES:
        raise ValueError("JWKS too large")
    data = json.loads(body)
    if not isinstance(data, dict):
        raise ValueError("JWKS is not an object")
    return data


@dataclass(frozen=True)
class Key:
    """One public key of an issuer's JWKS, and the `alg` its JWK declares (if any)."""

    public: Any
    alg: str | None


@dataclass(frozen=True)
class _KeySet:
    keys: dict[str, Key]
    fetched_at: float


def _usable_keys(data: dict[str, Any]) -> dict[str, Key]:
    """The signing keys with a kid and an accepted type; others are skipped."""
    keys: dict[str, Key] = {}
    for entry in data.get("keys") or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
            continue
        if entry.get("kty") not in ("RSA", "EC") or entry.get("use", "sig") != "sig":
            continue
        try:
            declared = entry.get("alg")
            keys[entry["kid"]] = Key(
                jwt.PyJWK(entry).key, declared if isinstance(declared, str) else None
            )
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
            continue  # a malformed or unsupported key: not usable, the others still are
    return keys


class JwksCache:
    """Each issuer's public keys by kid, fetched from its configured JWKS URL.

    The lock guards the bookkeeping only, never a fetch: under gevent a greenlet that blocked on
    an OS lock held across network I/O would stop its whole worker.
    """

    def __init__(
        self,
        issuers: dict[str, str],
        fetch: Callable[[str], dict[str, Any]] = fetch_jwks,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._issuers = issuers
        self._fetch = fetch
        self._clock = clock
        self._sets: dict[str, _KeySet] = {}
        self._attempted: dict[str, float] = {}  # the last fetch started, per issuer
        self._failed_at: dict[str, float] = {}
        self._lock = threading.Lock()

    def key(self, issuer: str, kid: str) -> Key:
        """The issuer's key `kid`; TokenRejected when it is unknown or the keys are unavailable."""
        now = self._clock()
        with self._lock:
            found = self._sets.get(issuer)
            stale = found is None or now - found.fetched_at >= JWKS_TTL
            rotated = (  # an unknown kid: perhaps rotated in since the last fetch
                found is not None
                and not stale
                and kid not in found.keys
                and now - self._attempted.get(issuer, now - JWKS_REFETCH_INTERVAL)
                >= JWKS_REFETCH_INTERVAL
            )
            failed = self._failed_at.get(issuer)
            backing_off = failed is not None and now - failed < JWKS_RETRY_AFTER_FAILURE
            if stale and backing_off:
                raise _unavailable()
            fetch = stale or (rotated and not backing_off)
            if fetch:
                self._attempted[issuer] = now
        if fetch:
            found = self._refresh(issuer, now, keep=not stale)
        key = None if found is None else found.keys.get(kid)
        if key is None:
            raise TokenRejected("unknown_kid", "The token's kid is not in the issuer's JWKS.")
        return key

    def _refresh(self, issuer: str, now: float, keep: bool) -> _KeySet:
        """Fetch the issuer's keys (no lock held); on failure keep unexpired keys if `keep`."""
        try:
            keys = _usable_keys(self._fetch(self._issuers[issuer]))
        except Exception:  # any network, HTTP or JSON failure: fail closed
            _log.warning("cds jwks unavailable")
            with self._lock:
                self._failed_at[issuer] = now
                current = self._sets.get(issuer)
                if not keep:
                    self._sets.pop(issuer, None)  # keys are not trusted past their TTL
            if keep and current is not None:
                return current
            raise _unavailable() from None
        with self._lock:
            self._failed_at.pop(issuer, None)
            found = self._sets[issuer] = _KeySet(keys, now)
        return found


def _unavailable() -> TokenRejected:
    return TokenRejected(
        "jwks_unavailable", "The issuer's public keys could not be fetched; try again later."
    )


def _public_key(key: Key, alg: str) -> Any:
    """The key object for `alg`: RS384 needs RSA, ES384 an EC P-384 key; a JWK alg must agree."""
    if key.alg is not None and key.alg != alg:
        raise TokenRejected("alg_mismatch", "The token's alg does not match its key.")
    public = key.public
    if alg == "RS384" and isinstance(public, rsa.RSAPublicKey):
        return public
    if (
        alg == "ES384"
        and isinstance(public, ec.EllipticCurvePublicKey)
        and isinstance(public.curve, ec.SECP384R1)
    ):
        return public
    raise TokenRejected("alg_mismatch", "The token's alg does not match its key.")


class Verifier:
    """Verifies a CDS Hooks 2.0 client JWT for the URL called; returns its claims."""

    def __init__(
        self,
        issuers: dict[str, str],
        jwks: JwksCache | None = None,
        replay: ReplayStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.issuers = issuers
        self.jwks = jwks or JwksCache(issuers)
        self.replay: ReplayStore = replay or ReplayCache()
        self._clock = clock

    def verify(self, token: str, audience: str) -> dict[str, Any]:
        """The verified claims; TokenRejected (or ReplayUnavailable) otherwise."""
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.InvalidTokenError:
            raise TokenRejected("malformed", "The bearer token is not a signed JWT.") from None
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise TokenRejected("alg", f"The token must be signed with {' or '.join(ALGORITHMS)}.")
        if header.get("typ") is not None and str(header["typ"]).upper() != "JWT":
            raise TokenRejected("typ", "The token's typ must be JWT.")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenRejected("kid", "The token's header must name its key (kid).")
        issuer = unverified.get("iss")
        if not isinstance(issuer, str) or issuer not in self.issuers:
            raise TokenRejected("issuer", "The token's issuer is not a trusted CDS client.")
        if "jku" in header and header["jku"] != self.issuers[issuer]:
            raise TokenRejected("jku", "The token's jku is not the issuer's trusted JWKS URL.")
        key = _public_key(self.jwks.key(issuer, kid), alg)
        claims = self._decode(token, key, alg, audience, issuer)
        now = self._clock()
        if claims["iat"] > now + CLOCK_SKEW:
            raise TokenRejected("iat", "The token was issued in the future.")
        if claims["exp"] - claims["iat"] > MAX_LIFETIME:
            raise TokenRejected("lifetime", "The token lives longer than 5 minutes.")
        jti = claims["jti"]
        if not isinstance(jti, str) or not 1 <= len(jti) <= 256:
            raise TokenRejected("jti", "The token's jti must be a string of 1 to 256 characters.")
        if not self.replay.first_use(issuer, jti, float(claims["exp"]) + CLOCK_SKEW):
            raise TokenRejected("replay", "The token's jti was already used.")
        return claims

    def _decode(self, token: str, key: Any, alg: str, audience: str, issuer: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=audience,
                issuer=issuer,
                leeway=CLOCK_SKEW,
                options={"require": ["iss", "aud", "exp", "iat", "jti"]},
            )
        except jwt.InvalidSignatureError:
            raise TokenRejected("signature", "The token's signature does not verify.") from None
        except jwt.ExpiredSignatureError:
            raise TokenRejected("expired", "The token has expired.") from None
        except jwt.InvalidAudienceError:
            raise TokenRejected("aud", "The token's aud is not the URL called.") from None
        except jwt.ImmatureSignatureError:
            raise TokenRejected("iat", "The token was issued in the future.") from None
        except jwt.MissingRequiredClaimError:
            raise TokenRejected(
                "claims", "The token must carry iss, aud, exp, iat and jti."
            ) from None
        except jwt.InvalidTokenError:
            raise TokenRejected("invalid", "The token is not valid.") from None
        for name in ("exp", "iat"):
            if not isinstance(claims[name], int | float) or isinstance(claims[name], bool):
                raise TokenRejected("claims", "The token's exp and iat must be numbers.")
        return claims


def bearer_token(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, else None."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token and " " not in token else None


def _challenge(error: str | None, description: str, api_keys: bool) -> str:
    bearer = f'Bearer realm="{REALM}"'
    if error:
        bearer += f', error="{error}", error_description="{description}"'
    return f"{bearer}, {CHALLENGE}" if api_keys else bearer


def _unauthorized(error: str | None, description: str, api_keys: bool) -> ResponseBase:
    # The problem in the caller's language; the challenge's error_description stays English
    # (RFC 6750: US-ASCII, for developers).
    response = localized_problem(problem_body(401, "Unauthorized", description))
    response.headers["WWW-Authenticate"] = _challenge(error, description, api_keys)
    return response


def install_cds_auth(
    app: Flask, issuers: dict[str, str], public_url: str | None, api_keys: tuple[str, ...]
) -> None:
    """With trusted issuers configured, every /cds-services* call needs a verified JWT.

    A valid API key (TRIAGE_API_KEYS) is accepted instead, for callers that are not an EHR.
    Without issuers nothing is installed: the API key guards the paths if keys are set, and
    they are open otherwise (service.auth). Register before service.auth.install_api_keys,
    after service.cors.install_cors (a preflight carries no credentials).
    """
    if not issuers:
        return
    if not public_url:
        raise ValueError("TRIAGE_PUBLIC_URL is required with TRIAGE_CDS_ISSUERS")
    base: str = public_url
    verifier = app.extensions["cds_jwt"] = Verifier(issuers, replay=for_this_server())

    @app.before_request
    def _require_token() -> ResponseBase | None:
        if not request.path.startswith(PREFIX) or request.method == "OPTIONS":
            return None
        offered_key = request.headers.get(API_KEY_HEADER)
        if api_keys and offered_key is not None and is_valid_key(offered_key, api_keys):
            return None
        token = bearer_token(request.headers.get("Authorization"))
        if token is None:
            return _unauthorized(
                None,
                "Send a CDS Hooks 2.0 client JWT in the Authorization header (Bearer)"
                + (f" or an API key in {API_KEY_HEADER}." if api_keys else "."),
                bool(api_keys),
            )
        try:
            verifier.verify(token, base + request.path)
        except TokenRejected as rejected:
            _log.info("cds token rejected", reason=rejected.reason)
            return _unauthorized("invalid_token", rejected.description, bool(api_keys))
        except ReplayUnavailable as unavailable:
            # Fail closed: a token is never accepted without replay protection.
            if isinstance(unavailable, ReplayCacheFull):
                _log.warning("cds replay cache full")
                detail = "Too many recent CDS Hooks calls; try again soon."
            else:  # the store has logged its failure, once
                detail = "CDS Hooks calls cannot be checked for replay right now; try again soon."
            response = localized_problem(problem_body(503, "Service Unavailable", detail))
            response.headers["Retry-After"] = "5"
            return response
        return None
