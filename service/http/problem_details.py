"""A problem detail (RFC 9457) as a dict: the one shape of every error, framework-free."""

from __future__ import annotations

from typing import Any

PROBLEM_JSON = "application/problem+json"


def problem_body(status: int, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    """A problem detail (RFC 9457) as a dict."""
    return {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
