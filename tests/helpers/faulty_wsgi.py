"""The service with faults a test can ask for, to drive the real server down its error paths.

`gunicorn -c gunicorn.conf.py tests.faulty_wsgi:app`: the real application, whose requests
carrying an `X-Fault` header fail on purpose, each fault quoting the request in its message as
careless code would (tests/http/test_request_log.py checks that no log line repeats it):
- `wsgi`: an exception escapes the application to gunicorn ("Error handling request");
- `view`: a view raises (the service's own handler for unexpected errors);
- `after`: an after-request hook raises (Flask's own logger: "Exception on <path>");
- `spin`: the request holds its worker's event loop until the worker timeout kills it.
Only for tests: nothing in service/ imports it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Response, request

from service.wsgi import app as flask_app

FAULT_HEADER = "X-Fault"
SPIN_SECONDS = 20.0


class FaultError(RuntimeError):
    """A failure put here on purpose; its message quotes the request."""


def _quoted() -> str:
    return f"{request.method} {request.full_path} {dict(request.headers)}"


@flask_app.before_request
def _fault_in_view() -> None:
    fault = request.headers.get(FAULT_HEADER)
    if fault == "view":
        raise FaultError(f"view failed on {_quoted()}")
    if fault == "spin":
        deadline = time.monotonic() + SPIN_SECONDS
        while time.monotonic() < deadline:  # never yields: gunicorn's timeout must end it
            pass


@flask_app.after_request
def _fault_after(response: Response) -> Response:
    if request.headers.get(FAULT_HEADER) == "after":
        raise FaultError(f"after-request hook failed on {_quoted()}")
    return response


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """The WSGI callable gunicorn serves."""
    if environ.get("HTTP_X_FAULT") == "wsgi":
        raise FaultError(f"escaped on {environ.get('RAW_URI')} {environ.get('HTTP_USER_AGENT')}")
    result: Iterable[bytes] = flask_app(environ, start_response)
    return result
