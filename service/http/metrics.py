"""Prometheus metrics, shared across gunicorn workers through the multiprocess directory.

Best-effort: the values live in service.http.metric_files, where a missing, full or unwritable
PROMETHEUS_MULTIPROC_DIR turns a worker's metrics off (one log line) and never fails an answer.
"""

from __future__ import annotations

import bisect
import functools
import os
from typing import Any

import structlog
from flask import Blueprint, Response, current_app
from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from service.http import metric_files
from service.http.metric_files import FileValue

# Before any metric below is created: their values are FileValues.
metric_files.install()

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
ENGINE_FAILURES = Counter(
    "triage_engine_failures_total",
    "Evaluations that failed closed: the rule engine failed, no triage result was given.",
)
RULESET_INFO = "triage_ruleset_info"
RULESET_INFO_HELP = "The ruleset this worker evaluates with (always 1): its version and digest."


class _RulesetInfo(Collector):
    """triage_ruleset_info{version, sha256} 1, read from the app at each scrape.

    Not a file-backed multiprocess gauge: the ruleset is loaded in the gunicorn master before
    the fork, so every worker holds the same one and whichever worker answers the scrape knows
    it. A gauge in the worker's files would be lost at each fork (a new process's values start
    at 0) and would need setting again in every worker; it would vanish with the worker's
    metrics when its folder is full or unwritable, and the master's own file is deleted by
    reset_folder. Computed here it is one series, present from the first scrape of every
    worker, whatever state the files are in.
    """

    def __init__(self, version: str, sha256: str) -> None:
        self._labels = [version, sha256]

    def collect(self) -> list[GaugeMetricFamily]:
        family = GaugeMetricFamily(RULESET_INFO, RULESET_INFO_HELP, labels=["version", "sha256"])
        family.add_metric(self._labels, 1)
        return [family]


class _Registry(Collector):
    """The process's own registry seen as one collector (no multiprocess folder)."""

    def collect(self) -> Any:
        return REGISTRY.collect()


def _registry() -> CollectorRegistry:
    # Under gunicorn each worker writes its own files; the view merges them (dependencies.md 6).
    folder = os.environ.get(metric_files.FOLDER_VARIABLE)
    registry = CollectorRegistry()
    registry.register(metric_files.FolderCollector(folder) if folder else _Registry())
    ruleset = current_app.extensions["triage"].ruleset
    registry.register(_RulesetInfo(ruleset.version, ruleset.sha256))
    return registry


@metrics.get("/metrics", provide_automatic_options=False)
def exposition() -> Response:
    """All workers' metrics in the Prometheus text format (counts only, no patient data)."""
    try:
        body = generate_latest(_registry())
    except Exception as error:  # metrics never fail: an empty exposition rather than a 500
        structlog.get_logger("service.metrics").warning(
            "metrics exposition failed", error=type(error).__name__
        )
        body = b""
    # content_type, not mimetype: Flask would append a second charset.
    return Response(body, content_type=CONTENT_TYPE_PLAIN_0_0_4)


# labels() looks its child up under a lock, label by label: on every request, for every fired
# rule, that cost as much as the counting. The children never change: their values are looked
# up once each (the label values are routes, statuses, rule ids, levels and urgencies: a few
# hundred at most) and updated together, under one lock of the files.
@functools.cache
def _count(metric: Any, *labels: str) -> FileValue:
    # The value behind a counter (or its child): prometheus_client keeps it as `_value`, an
    # instance of the ValueClass installed above.
    value: FileValue = (metric.labels(*labels) if labels else metric)._value
    return value


@functools.cache
def _latency(
    route: str,
) -> tuple[list[float], list[metric_files.FileValue], metric_files.FileValue]:
    # The values behind a histogram's child, as Histogram.observe updates them: its `_sum` and
    # one of its `_buckets` (per bucket in the files; the collector makes them cumulative).
    child = LATENCY.labels(route)
    return child._upper_bounds, child._buckets, child._sum


def observe_request(route: str, status: int, seconds: float) -> None:
    """Count one response and its latency, under one lock of the files (Histogram.observe and
    Counter.inc took it three times, with a pid check each)."""
    bounds, buckets, total = _latency(route)
    metric_files.add_each(
        (
            (total, seconds),
            (buckets[bisect.bisect_left(bounds, seconds)], 1.0),
            (_count(RESPONSES, route, str(status)), 1.0),
        )
    )


def observe_decision(level: str, urgency: str, rules: list[str], review: bool) -> None:
    """Count one triage result and the rules behind it, all under one lock of the files."""
    counted = [_count(DECISIONS, level, urgency), *(_count(FIRES, rule) for rule in rules)]
    if review:
        counted.append(_count(CLINICIAN_REVIEWS))
    metric_files.increment_each(counted)


def observe_engine_failure() -> None:
    """Count one evaluation that failed closed (an EngineError: no result was given)."""
    ENGINE_FAILURES.inc()


def observe_feedback(outcome: str) -> None:
    """Count one CDS Hooks feedback outcome (accepted or overridden)."""
    CDS_FEEDBACK.labels(outcome).inc()
