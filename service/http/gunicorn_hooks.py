"""gunicorn made to keep the service's rules at the HTTP level (installed by gunicorn.conf.py).

- Requests gunicorn rejects itself (bad request line, oversized headers…) are answered as
  problem+json like every other error, never as its HTML page, and never echo the request; in
  the request's language when its head was read, else in every loaded language
  (service.http.server_problems), built once per worker (`prepare`).
- What RFC 9112 requires and gunicorn 27 has no setting for, checked once a request head is
  parsed, before any application code: HTTP/1.1 without a Host field, or with a malformed one,
  is 400 (3.2); a version other than 1.0 and 1.1 is 505 (gunicorn accepts HTTP/1.2 to 1.9 and
  answers 400 for the rest); a transfer coding other than chunked is 501 instead of being
  ignored (6.1); a header section over HEADER_BYTES is 431 (gunicorn's own bound is
  limit_request_fields times limit_request_field_size, about 400 KB).
- No `Server` header: gunicorn writes `Server: gunicorn` on every answer, with no setting.
- gunicorn's error log is JSON lines, one write each, with no request text (RedactingLogger).

Each change wraps one gunicorn function and is covered by tests/system/test_protocol.py against the
real server, so a gunicorn upgrade that moves one of them fails a test rather than passing quietly.
"""

from __future__ import annotations

import logging
import re
from contextvars import ContextVar
from typing import Any

from gunicorn import glogging, util
from gunicorn.http import message, wsgi
from gunicorn.http.errors import (
    InvalidHeader,
    InvalidHTTPVersion,
    LimitRequestHeaders,
    NoMoreData,
    ParseException,
    UnsupportedTransferCoding,
)
from gunicorn.workers import base

from service.http.log_lines import JsonLineFormatter, JsonLineHandler
from service.http.problem_details import reason as reason_phrase
from service.http.server_problems import EVERY, Languages, ServerProblem

# gunicorn raises these while the application reads the body: a malformed chunk size,
# extension or terminator, oversized trailers, or a body cut short by the client. The app
# answers them as a 400 problem (http/problems.py), without importing gunicorn itself.
BODY_FRAMING_ERRORS: tuple[type[Exception], ...] = (ParseException, NoMoreData)

# Request header limits (docs/operations.md, Request limits). gunicorn.conf.py sets the first two.
HEADER_FIELDS = 50  # limit_request_fields: header fields in a request
HEADER_FIELD_BYTES = (
    8190  # limit_request_field_size: one field, name and value (gunicorn's default)
)
HEADER_BYTES = 32 * 1024  # the whole header section (what nginx's defaults allow too)
VERSIONS = frozenset({(1, 0), (1, 1)})
# RFC 9110 7.2 / RFC 3986 3.2.2: reg-name or IP-literal, then an optional port.
_HOST = re.compile(r"(?:[A-Za-z0-9._~!$&'()*+,;=%-]*|\[[0-9A-Fa-f:.]+\])(?::[0-9]*)?")

# The English of each problem gunicorn answers itself (the locale files translate them by their
# `problem.*` keys); any other status says its title.
_DETAIL = {
    400: "The HTTP request could not be parsed.",
    403: "The request was refused.",
    414: "The request line is too long.",
    417: "The expectation cannot be met.",
    431: (
        f"The request headers are too large: at most {HEADER_FIELDS} fields, each at most "
        f"{HEADER_FIELD_BYTES} bytes, {HEADER_BYTES} bytes in all."
    ),
    500: "The request could not be completed.",
    501: "The transfer coding is not supported: only chunked is.",
    505: "The HTTP version is not supported: use HTTP/1.1 (or HTTP/1.0).",
}
_CLOSE = (("Connection", "close"),)


def _built(languages: Languages) -> dict[int, ServerProblem]:
    return {
        status: ServerProblem(languages, status, detail, _CLOSE)
        for status, detail in _DETAIL.items()
    }


_languages = Languages()
_answers = _built(_languages)
# The language of the problem being written (EVERY: no head was read to choose one by); set by
# _handle_error around gunicorn's own, which calls write_problem without the request.
_language: ContextVar[str] = ContextVar("problem_language", default=EVERY)


def prepare(app: Any) -> None:
    """Build this worker's answers in the languages of its app (gunicorn.conf.py calls it once
    the worker has loaded the app); until then they are English."""
    global _languages, _answers
    _languages = Languages.of(app)
    _answers = _built(_languages)


def write_problem(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """Drop-in for gunicorn.util.write_error. `mesg` quotes the request, so it is never sent;
    nor is gunicorn's `reason` (it passes "Bad Request" with its 501)."""
    answer = _answers.get(status_int)
    if answer is None:  # a status gunicorn did not answer before: built now, once
        answer = ServerProblem(_languages, status_int, reason_phrase(status_int), _CLOSE)
    util.write_nonblock(sock, answer(_language.get()))


def _accept_language(headers: list[tuple[str, str]]) -> str | None:
    return next((value for name, value in headers if name == "ACCEPT-LANGUAGE"), None)


def check_head(request: Any) -> None:
    """The RFC 9112 checks gunicorn does not make; raises the gunicorn error to answer with."""
    if request.version not in VERSIONS:
        raise InvalidHTTPVersion(request.version)  # a (major, minor) tuple: 505, see below
    hosts = [value for name, value in request.headers if name == "HOST"]
    if (request.version == (1, 1) and not hosts) or not all(map(_HOST.fullmatch, hosts)):
        raise InvalidHeader("HOST")
    if sum(len(name) + len(value) + 4 for name, value in request.headers) > HEADER_BYTES:
        raise LimitRequestHeaders("header section too large")
    codings = [
        coding.strip(" \t").lower()
        for name, value in request.headers
        if name == "TRANSFER-ENCODING"
        for coding in value.split(",")
        if coding.strip(" \t")
    ]
    if codings and codings[-1] != "chunked":
        raise InvalidHeader("TRANSFER-ENCODING")  # no length can be known: 400 (RFC 9112 6.3)
    if any(coding != "chunked" for coding in codings):
        raise UnsupportedTransferCoding("TRANSFER-ENCODING")  # 501, not silently ignored


_parse_request = message.Request.parse


def _parse_strictly(self: Any, unreader: Any) -> Any:
    # Bound what gunicorn buffers while it looks for the end of the headers: HEADER_BYTES
    # (and at most one read more), not limit_request_fields times limit_request_field_size.
    self.max_buffer_headers = min(self.max_buffer_headers, HEADER_BYTES)
    rest = _parse_request(self, unreader)
    try:
        check_head(self)
    except LimitRequestHeaders:
        raise  # a head too large to be read for its language
    except ParseException as error:
        # The head was parsed: its problem can follow the language asked for (_handle_error).
        error.language_asked = (_accept_language(self.headers), self.query)
        raise
    return rest


_gunicorn_handle_error = base.Worker.handle_error


def _handle_error(self: Any, req: Any, client: Any, addr: Any, exc: Any) -> None:
    """gunicorn's, answering in the language of the request's head when it was read (a
    request that failed after parsing, or one check_head refused), else in every language."""
    asked = getattr(exc, "language_asked", None)
    if asked is None and req is not None:
        asked = (_accept_language(req.headers), req.query)
    token = _language.set(EVERY if asked is None else _languages.choose(*asked))
    try:
        _handle_error_505(self, req, client, addr, exc)
    finally:
        _language.reset(token)


def _handle_error_505(self: Any, req: Any, client: Any, addr: Any, exc: Any) -> None:
    """505 for a well-formed version the service does not speak; gunicorn answers 400."""
    if isinstance(exc, InvalidHTTPVersion) and isinstance(exc.version, tuple):
        self.log.warning("Invalid request rejected by the HTTP parser (unsupported HTTP version)")
        try:
            util.write_error(client, 505, "HTTP Version Not Supported", "")
        except Exception:  # the client is gone: nothing to answer
            self.log.debug("Failed to send error message.")
        return
    _gunicorn_handle_error(self, req, client, addr, exc)


_default_headers = wsgi.Response.default_headers


def _without_server(self: Any) -> list[str]:
    headers: list[str] = _default_headers(self)
    return [line for line in headers if not line.startswith("Server:")]


def install() -> None:
    """Install all of the above for this process (called by gunicorn.conf.py, in the master)."""
    util.write_error = write_problem
    message.Request.parse = _parse_strictly
    base.Worker.handle_error = _handle_error
    wsgi.Response.default_headers = _without_server


class RedactingLogger(glogging.Logger):  # type: ignore[misc]
    """gunicorn's error log as JSON lines in one write each, without the request text it quotes.

    service.http.log_lines.server_message drops it: the request line of a rejected request, the
    method and raw URI of a request that failed or timed out, any other argument that is not
    a pid or the like; an exception is logged as its type and frames.
    """

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for handler in list(self.error_log.handlers):
            if not getattr(handler, "_gunicorn", False):
                continue
            if type(handler) is logging.StreamHandler:  # errorlog "-": stderr
                lines = JsonLineHandler(handler.stream)
                lines._gunicorn = True  # type: ignore[attr-defined]  # gunicorn finds its own
                self.error_log.removeHandler(handler)
                self.error_log.addHandler(lines)
            else:  # a log file: one write() of the whole line, then a flush
                handler.setFormatter(JsonLineFormatter())
