"""The app's Response class: werkzeug's, its WSGI answer handed over directly when nothing in it
needs werkzeug's adjustments.

werkzeug prepares every answer for the server the same way: a checked copy of its headers, each
scanned for Location, Content-Location and Content-Length, and the body wrapped in a generator
and a closing iterator. For an answer that is a list of bytes with its Content-Length, no
Location, no close callbacks, and a status and method that keep the body, that preparation
returns the same status, the same headers in the same order and the same bytes: they are handed
over as they are. Any other answer takes werkzeug's own path.
"""

from __future__ import annotations

from typing import Any

import flask

# Headers werkzeug rewrites (Location, Content-Location) and the one it may add (Content-Length).
_REWRITTEN = frozenset({"location", "content-location"})
_LENGTH = "content-length"


class Response(flask.Response):
    """flask.Response, with get_wsgi_response's common case made without copies: werkzeug's
    cost about a tenth of a whole triage request."""

    def get_wsgi_response(self, environ: dict[str, Any]) -> tuple[Any, str, list[tuple[str, str]]]:
        body = self.response
        status = self.status_code
        if (
            type(body) is list
            and not self._on_close
            and not self.direct_passthrough
            and status >= 200
            and status != 204
            and status != 304
            and environ["REQUEST_METHOD"] != "HEAD"
            and all(type(item) is bytes for item in body)
        ):
            headers = self.headers.to_wsgi_list()
            names = {name.lower() for name, _value in headers}
            if _LENGTH in names and names.isdisjoint(_REWRITTEN):
                return body, self.status, headers
        return super().get_wsgi_response(environ)
