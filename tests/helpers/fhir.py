"""Test helpers: QuestionnaireResponses from intakes, and the two FHIR validators (R4B, FHIR.js)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping
from typing import Any

import pytest

from service.config import DEFAULT_FHIR_BASE
from service.interop.fhir.common import DATA_ABSENT_REASON, fhir_urls
from tests.helpers import RED_FLAG_SCREEN, ROOT

# The canonical URLs of an app built with the default settings (no FHIR_BASE, no PUBLIC_URL).
URLS = fhir_urls(DEFAULT_FHIR_BASE)
QUESTIONNAIRE_URL = URLS.questionnaire
ANSWERS_SYSTEM = URLS.answers
MODULE_URL = URLS.module

# Nothing but SC2 fires: every danger sign, step and tenderness question answered, no diabetes.
CLEAR = {
    "patient": {"age_years": 40},
    "history": {"diabetes": "no"},
    "symptoms": {
        "onset": "gradual",
        "pain_nrs": 3,
        "steps_now": 4,
        "swelling": "none",
        "tender_5th_mt_base": "no",
        "tender_navicular": "no",
        "tender_metatarsal_point": "no",
        **{flag: "no" for flag in RED_FLAG_SCREEN},
    },
}
NODE = shutil.which("node")
FHIR_JS = ROOT / "node_modules" / "fhir" / "package.json"
needs_fhir_js = pytest.mark.skipif(
    NODE is None or not FHIR_JS.exists(),
    reason="node or node_modules/fhir is missing: make test installs it with npm ci",
)


def answer(value: Any) -> dict[str, Any]:
    """One QuestionnaireResponse answer for an intake value; None is data-absent."""
    if value is None:
        return {"extension": [{"url": DATA_ABSENT_REASON, "valueCode": "asked-unknown"}]}
    if isinstance(value, int):
        return {"valueInteger": value}
    return {"valueCoding": {"system": ANSWERS_SYSTEM, "code": value}}


def response_from_intake(
    intake: Mapping[str, Mapping[str, Any]], *, nested: bool = True, version: str | None = None
) -> dict[str, Any]:
    """The QuestionnaireResponse an EHR form would send for this intake."""
    groups = {
        group: [{"linkId": name, "answer": [answer(value)]} for name, value in answers.items()]
        for group, answers in intake.items()
    }
    items: list[dict[str, Any]] = (
        [{"linkId": group, "item": children} for group, children in groups.items() if children]
        if nested
        else [child for children in groups.values() for child in children]
    )
    return {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "questionnaire": QUESTIONNAIRE_URL + (f"|{version}" if version else ""),
        "subject": {"reference": "Patient/example"},
        "authored": "2026-11-24T10:00:00+00:00",
        "item": items,
    }


def fhir_js_validate(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """FHIR.js (npm fhir 4.12.0) results, {valid, messages}, one per resource."""
    assert NODE is not None
    result = subprocess.run(
        [NODE, str(ROOT / "tests" / "helpers" / "fhir_validate.js")],
        input=json.dumps(resources),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=True,
    )
    validated: list[dict[str, Any]] = json.loads(result.stdout)
    return validated


def without_translations(element: Any) -> Any:
    """A resource without its translation extensions (the `_text`, `_display` ... elements)."""
    if isinstance(element, dict):
        return {k: without_translations(v) for k, v in element.items() if not k.startswith("_")}
    if isinstance(element, list):
        return [without_translations(item) for item in element]
    return element
