"""The answer's JSON: assessment_json writes the bytes orjson.dumps(assessment_to_wire) writes."""

from __future__ import annotations

from types import MappingProxyType

import orjson
import pytest
from flask import Flask

from service.domain.assessment import Reason
from service.domain.assessor import Triage
from service.domain.intake_validator import validate_intake
from service.http.answer import assessment_json, assessment_to_wire
from tests.helpers import vignettes


@pytest.mark.parametrize("fallback", [False, True])
def test_the_json_is_the_wire_form_serialised(app: Flask, fallback: bool) -> None:
    triage: Triage = app.extensions["triage"]
    checked = 0
    for language in triage.supported:
        for case in vignettes():
            answer = triage.assess(validate_intake(case.intake), case.name, language)
            assert answer.rationale  # every answer has at least its default rule
            written = assessment_json(answer, fallback)
            assert written == orjson.dumps(assessment_to_wire(answer, fallback))
            checked += 1
    assert checked == len(vignettes()) * len(triage.supported) > len(vignettes())


def test_a_matched_mapping_that_is_no_dict_is_written_as_one(app: Flask) -> None:
    triage: Triage = app.extensions["triage"]
    answer = triage.assess(validate_intake(vignettes()[0].intake), "mapping")
    reasons = tuple(Reason(r.rule, MappingProxyType(dict(r.matched))) for r in answer.rationale)
    answer = type(answer)(**{**answer.__dict__, "rationale": reasons})
    assert assessment_json(answer) == orjson.dumps(assessment_to_wire(answer))
