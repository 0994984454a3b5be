"""In-process timing of each stage of one triage: validation, facts, engine, decision, answer."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from service.domain.assessor import Triage
from service.domain.decision import decide
from service.domain.facts import build_facts
from service.domain.intake_schema import TriageRequestSchema
from service.domain.intake_validator import IntakeValidator
from service.domain.ruleset_loader import load_ruleset
from service.http.answer import assessment_json
from service.review.cases import load_vignettes

ROOT = Path(__file__).resolve().parent.parent


def _time(step: Callable[[Any], Any], inputs: list[Any], rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        for item in inputs:
            start = time.perf_counter_ns()
            step(item)
            samples.append((time.perf_counter_ns() - start) / 1000)
    return samples


def measure(rounds: int = 50) -> dict[str, tuple[float, float]]:
    """Median and p99 in microseconds per stage, over every vignette intake."""
    triage = Triage(load_ruleset(ROOT / "rules"))
    schema = TriageRequestSchema()
    raw = [json.dumps(v.intake) for v in load_vignettes(ROOT / "tests/vignettes/vignettes.yaml")]
    parsed = [json.loads(text) for text in raw]
    loaded = [schema.load(body) for body in parsed]
    facts = [build_facts(intake) for intake in loaded]
    fired = [triage.engine.evaluate(f) for f in facts]
    decisions = [decide(ids, triage.ruleset) for ids in fired]
    stages: dict[str, tuple[Callable[[Any], Any], list[Any]]] = {
        "JSON parsing": (json.loads, raw),
        "validation (Marshmallow)": (schema.load, parsed),
        "validation (fast path compiled from the schema)": (IntakeValidator().load, parsed),
        "fact building": (build_facts, loaded),
        "engine evaluation (durable-rules)": (triage.engine.evaluate, facts),
        "decision": (lambda ids: decide(ids, triage.ruleset), fired),
        "answer and serialisation": (
            lambda pair: assessment_json(triage.answer("bench", pair[0], pair[1])),
            list(zip(facts, decisions, strict=True)),
        ),
        "whole assessment": (lambda intake: triage.assess(intake, "bench"), loaded),
    }
    results = {}
    for name, (step, inputs) in stages.items():
        _time(step, inputs, 2)  # warm-up
        samples = sorted(_time(step, inputs, rounds))
        results[name] = (statistics.median(samples), samples[int(len(samples) * 0.99) - 1])
    return results


if __name__ == "__main__":
    for stage, (median, p99) in measure().items():
        print(f"{stage:40} median {median:8.1f} µs   p99 {p99:8.1f} µs")
