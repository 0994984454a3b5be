"""Prometheus metrics, shared across gunicorn workers through the multiprocess directory."""

from __future__ import annotations

import os

from flask import Blueprint, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

metrics = Blueprint("metrics", __name__)

LATENCY = Histogram(
    "triage_request_duration_seconds",
    "Time to answer a request.",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
RESPONSES = Counter("triage_responses_total", "Responses by status code.", ["route", "status"])
DECISIONS = Counter("triage_decisions_total", "Triage results.", ["level", "urgency"])
FIRES = Counter("triage_rule_fires_total", "Rules fired, by rule id.", ["rule_id"])
CLINICIAN_REVIEWS = Counter(
    "triage_clinician_review_total", "Answers that asked for a clinician's review."
)
CDS_FEEDBACK = Counter(
    "triage_cds_feedback_total", "CDS Hooks card feedback, by outcome.", ["outcome"]
)


def _registry() -> CollectorRegistry:
    # Under gunicorn each worker writes its own files; the view merges them (dependencies.md 6).
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


@metrics.get("/metrics", provide_automatic_options=False)
def exposition() -> Response:
    """All workers' metrics in the Prometheus text format (counts only, no patient data)."""
    return Response(generate_latest(_registry()), mimetype=CONTENT_TYPE_LATEST)


def observe_request(route: str, status: int, seconds: float) -> None:
    """Count one response and its latency."""
    LATENCY.labels(route).observe(seconds)
    RESPONSES.labels(route, str(status)).inc()


def observe_decision(level: str, urgency: str, rules: list[str], review: bool) -> None:
    """Count one triage result and the rules behind it."""
    DECISIONS.labels(level, urgency).inc()
    for rule_id in rules:
        FIRES.labels(rule_id).inc()
    if review:
        CLINICIAN_REVIEWS.inc()


def observe_feedback(outcome: str) -> None:
    """Count one CDS Hooks feedback outcome (accepted or overridden)."""
    CDS_FEEDBACK.labels(outcome).inc()
