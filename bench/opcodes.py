"""Python bytecode instructions per request, in process: the service against the bare endpoint.

Timings on a shared 2-core virtual machine move by 10-20% between runs, which hides most
single changes; the number of bytecode instructions the interpreter runs per request does not
move at all. It counts Python work only (the rule engine's C code and the kernel are not in
it), so it shows what the request plumbing and the triage's Python cost beside the bare
endpoint's, and whether a change made them smaller. Run: `python bench/opcodes.py`.
"""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service.review.cases import load_vignettes  # noqa: E402

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _environ(body: bytes) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/v1/triage",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }


def _start_response(_status: str, _headers: list[tuple[str, str]], _exc: Any = None) -> None:
    return None


def count(app: WsgiApp, bodies: list[bytes], requests: int = 100) -> int:
    """Bytecode instructions per request, over `requests` requests rotating over `bodies`."""
    for index in range(200):  # warm: caches filled, lazy imports done
        b"".join(app(_environ(bodies[index % len(bodies)]), _start_response))
    counted = 0

    def tracer(frame: FrameType, event: str, _arg: Any) -> Any:
        nonlocal counted
        frame.f_trace_opcodes, frame.f_trace_lines = True, False
        counted += event == "opcode"
        return tracer

    sys.settrace(tracer)
    try:
        for index in range(requests):
            b"".join(app(_environ(bodies[index % len(bodies)]), _start_response))
    finally:
        sys.settrace(None)
    return counted // requests


def measure() -> dict[str, int]:
    """Instructions per POST /v1/triage of the service and of the bare endpoint."""
    bodies = [
        json.dumps(v.intake).encode()
        for v in load_vignettes(ROOT / "tests" / "vignettes" / "vignettes.yaml")
    ]
    # The request log lines go to the null device, as under the benchmark's gunicorn.
    saved = os.dup(1)
    with open(os.devnull, "wb") as null:
        os.dup2(null.fileno(), 1)
        try:
            from bench.bare_app import app as bare
            from service.wsgi import app as service

            return {"service": count(service, bodies), "bare": count(bare, bodies)}
        finally:
            os.dup2(saved, 1)
            os.close(saved)


if __name__ == "__main__":
    print(measure())
