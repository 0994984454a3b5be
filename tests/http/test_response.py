"""The app's Response hands the server what werkzeug's would: same status, headers and bytes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import flask
import pytest

from service.http.response import Response

ENVIRON = {
    "REQUEST_METHOD": "POST",
    "SERVER_NAME": "triage.example",
    "SERVER_PORT": "443",
    "wsgi.url_scheme": "https",
    "SCRIPT_NAME": "",
    "PATH_INFO": "/v1/triage",
}


def _chunks() -> Iterator[bytes]:
    yield b"streamed"


# Each makes one answer from a Response class; the first few take the direct path.
MAKERS: dict[str, Callable[[type[flask.Response]], flask.Response]] = {
    "json": lambda cls: cls(b'{"a":1}', mimetype="application/json"),
    "with headers": lambda cls: cls(b"x", headers=[("Content-Language", "es"), ("Vary", "A")]),
    "list": lambda cls: cls([b"a", b"b"], headers=[("Content-Length", "2")]),
    "error": lambda cls: cls(b"{}", status=422, mimetype="application/problem+json"),
    "text": lambda cls: cls("añb", mimetype="text/plain"),
    "str items": lambda cls: cls(["a", "ñ"], headers=[("Content-Length", "3")]),
    "no length": lambda cls: cls([b"abc"]),
    "generator": lambda cls: cls(_chunks()),
    "no content": lambda cls: cls(b"", status=204),
    "not modified": lambda cls: cls(b"x", status=304),
    "location": lambda cls: cls(b"", status=303, headers=[("Location", "/v1/ü")]),
    "content location": lambda cls: cls(b"x", headers=[("content-location", "/a b")]),
    "passthrough": lambda cls: _passthrough(cls(b"x")),
    "on close": lambda cls: _on_close(cls(b"x")),
}
DIRECT = {"json", "with headers", "list", "error", "text"}


def _passthrough(response: flask.Response) -> flask.Response:
    response.direct_passthrough = True
    return response


def _on_close(response: flask.Response) -> flask.Response:
    response.call_on_close(lambda: None)
    return response


def _served(response: flask.Response, method: str) -> tuple[Any, str, list[Any], bytes]:
    app_iter, status, headers = response.get_wsgi_response({**ENVIRON, "REQUEST_METHOD": method})
    body = b"".join(app_iter)
    close = getattr(app_iter, "close", None)
    if close is not None:
        close()
    return app_iter, status, headers, body


@pytest.mark.parametrize("method", ["POST", "GET", "HEAD"])
@pytest.mark.parametrize("name", list(MAKERS))
def test_the_same_status_headers_and_bytes_as_werkzeugs(name: str, method: str) -> None:
    ours = MAKERS[name](Response)
    theirs = MAKERS[name](flask.Response)
    app_iter, *served = _served(ours, method)
    assert tuple(served) == _served(theirs, method)[1:]
    # The direct path hands over the body list itself (as werkzeug does with a passthrough).
    as_is = name in DIRECT or name == "passthrough"
    assert (app_iter is ours.response) is (as_is and method != "HEAD")


def test_the_app_answers_with_it(client: flask.testing.FlaskClient) -> None:
    flask_app = client.application
    assert flask_app.response_class is Response
    assert isinstance(flask_app.json.response({"a": 1}), Response)
