"""Shared test helpers: paths, the red-flag screen, the example intake, and the one app factory.

Tests import helpers from here (and tests.helpers.fhir, .web, .piped_server ...), never from
another test module or from conftest.py.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from service import create_app
from service.domain.ruleset import Ruleset
from service.domain.ruleset_loader import load_ruleset
from service.review.cases import Case, load_cases, load_vignettes
from service.review.replay import Replay

ROOT = Path(__file__).resolve().parent.parent.parent
RULES = ROOT / "rules"
VIGNETTES_FILE = ROOT / "tests" / "vignettes" / "vignettes.yaml"
# The seven danger signs of rule G2's screen (clinical.md 7.3).
RED_FLAG_SCREEN = (
    "fever",
    "systemically_unwell",
    "foot_cold_pale_or_blue",
    "sudden_numbness_or_weakness",
    "redness_spreading_rapidly",
    "black_or_dead_tissue",
    "hot_swollen_joint",
)
# The README's and the contract's worked example: a midfoot injury, Ottawa positive.
EXAMPLE = {
    "patient": {"age_years": 34},
    "history": {"diabetes": "no", "neuropathy": "no", "conservative_care_weeks": 2},
    "symptoms": {
        "onset": "injury",
        "pain_location": "midfoot",
        "pain_nrs": 6,
        "steps_immediately": 2,
        "steps_now": 3,
        "tender_5th_mt_base": "yes",
    },
}


# The type of the app_factory fixture (conftest.py): make_app itself.
AppFactory = Callable[..., Flask]


def make_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """A new application with these settings: the one place the tests call create_app."""
    return create_app(test_config)


@functools.cache
def shipped_ruleset() -> Ruleset:
    """The ruleset of rules/, loaded once for the test modules that only read it (each load
    took one to two seconds under coverage)."""
    return load_ruleset(RULES)


@functools.cache
def rule_cases() -> tuple[Case, ...]:
    """The rule cases of rules/*_test.yaml, read and checked once."""
    return tuple(load_cases(RULES))


@functools.cache
def vignettes() -> tuple[Case, ...]:
    """The vignette suite (tests/vignettes/vignettes.yaml), read and checked once."""
    return tuple(load_vignettes(VIGNETTES_FILE))


def expectation_errors(case: Case, answer: Mapping[str, Any]) -> list[str]:
    """What a /v1/triage answer misses of the case's expectations (Replay's one check)."""
    fired = tuple(entry["rule_id"] for entry in answer["rationale"])
    got = Replay(
        case,
        answer["level"],
        answer["urgency"],
        fired,
        answer["destination"],
        answer["setting"],
        answer["needs_clinician_review"],
    )
    return got.expectation_errors()
