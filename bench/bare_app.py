"""The floor: a bare Flask app with one JSON POST endpoint, served exactly like the service."""

from __future__ import annotations

from typing import Any

from flask import Flask, request

app = Flask(__name__)


@app.post("/v1/triage")
def echo() -> Any:
    """Parse the JSON body and answer a small JSON document."""
    body = request.get_json()
    return {"ok": True, "groups": len(body)}
