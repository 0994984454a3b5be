"""Turn a validated intake into the flat facts the rules read: every finding, unknowns explicit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.domain.findings import FINDINGS
from service.domain.intake_schema import UNKNOWN

Facts = dict[str, str | int | None]


# Every finding unanswered, in catalogue order: 'unknown', or None for a number.
_UNANSWERED: Facts = {
    name: None if finding.is_numeric else UNKNOWN for name, finding in FINDINGS.items()
}

# A choice answered null, as (finding, None) pairs: found among the answers by a set operation.
_NULL_CHOICES = frozenset((name, None) for name, value in _UNANSWERED.items() if value is not None)


def build_facts(intake: Mapping[str, Mapping[str, Any]]) -> Facts:
    """Flatten a validated intake's patient/history/symptoms into finding -> value.

    An answer left out (or null) is 'unknown' for yes/no/unknown and enum findings, and None for
    numbers: unknown never lowers a result (clinical.md 1.3). Built as copies and updates of
    dicts, without a step per finding: this runs on every request.
    """
    facts = dict(_UNANSWERED)
    for answers in intake.values():
        if answers:
            facts.update(answers)
            # An explicit null is unanswered; looked for first, as the set operation over
            # every answer cost most of this function and few answers are null.
            if None in answers.values():
                for name, _ in answers.items() & _NULL_CHOICES:
                    facts[name] = UNKNOWN
    return facts
