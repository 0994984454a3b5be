"""Turn a validated intake into the flat facts the rules read: every finding, unknowns explicit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.domain.findings import FINDINGS
from service.domain.intake_schema import UNKNOWN

Facts = dict[str, str | int | None]


def build_facts(intake: Mapping[str, Mapping[str, Any]]) -> Facts:
    """Flatten patient/history/symptoms into finding -> value.

    An answer left out (or null) is 'unknown' for yes/no/unknown and enum findings, and None for
    numbers: unknown never lowers a result (clinical.md 1.3).
    """
    facts: Facts = {}
    for name, finding in FINDINGS.items():
        value = (intake.get(finding.group) or {}).get(name)
        if value is None and not finding.is_numeric:
            value = UNKNOWN
        facts[name] = value
    return facts
