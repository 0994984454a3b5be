"""The floor: a bare Flask endpoint that parses the intake and answers a real answer, stored.

The answers are the service's own answers to the vignettes, computed once at start and served
as stored bytes: the endpoint pays for the transport, the JSON parse and the response of the
same size, and for nothing the triage does.
"""

from __future__ import annotations

from pathlib import Path

import orjson
from flask import Flask, request

from service.app import create_app
from service.http.headers import with_security_headers
from service.http.response import Response
from service.review.cases import load_vignettes

ROOT = Path(__file__).resolve().parent.parent


def _answers() -> list[bytes]:
    client = create_app().test_client()
    vignettes = load_vignettes(ROOT / "tests" / "vignettes" / "vignettes.yaml")
    return [client.post("/v1/triage", json=v.intake).get_data() for v in vignettes]


ANSWERS = _answers()
# The headers every triage answer carries, with values of the same length, so the transport
# costs match to the byte: the security headers (the service's own wrapper), a request id, the
# language. What the endpoint does not do is what the triage does.
_ANSWER_HEADERS = {
    "Content-Language": "en",
    "Vary": "Accept-Language",
    "X-Request-ID": "00000000-0000-4000-8000-000000000000",
}
app = Flask(__name__)
app.response_class = Response  # the service's own, served the same way
app.wsgi_app = with_security_headers(app.wsgi_app)  # type: ignore[method-assign,assignment]


@app.post("/v1/triage")
def stored_answer() -> Response:
    """Parse the JSON body, then answer one of the stored real answers."""
    raw = request.get_data()
    # orjson, the fastest parser here: the service reads an intake with it too (checked to
    # give what the json module gives): the floor parses as cheaply as the service can.
    orjson.loads(raw)
    return Response(
        ANSWERS[len(raw) % len(ANSWERS)], mimetype="application/json", headers=_ANSWER_HEADERS
    )


@app.get("/readyz")
def ready() -> Response:
    """Started."""
    return Response(b'{"status":"ready"}', mimetype="application/json")
