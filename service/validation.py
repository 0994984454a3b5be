"""Intake validation: the Marshmallow schema, with a fast path compiled from that same schema.

Marshmallow's per-field machinery costs about 80 µs for a full intake, as much as the rule
engine. Most intakes are valid, so a plain check compiled from the schema's own fields (group
names, finding names, OneOf choices, Range bounds, strict integers) accepts them directly. Any
intake it does not accept goes through Marshmallow, which gives the exact 422 messages.
tests/test_validation.py proves the two agree on valid and invalid input alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from service.findings import FINDINGS, Finding
from service.schemas import GROUPS, TriageRequestSchema

Check = Callable[[Any], bool]


def _check(finding: Finding) -> Check:
    if finding.is_numeric:
        low, high = finding.bounds
        # type() and not isinstance(): bool is an int subclass, and true is not a number.
        return lambda value: value is None or (type(value) is int and low <= value <= high)
    allowed = frozenset(finding.values)
    return lambda value: value is None or (type(value) is str and value in allowed)


class IntakeValidator:
    """load(body) -> the validated intake, or marshmallow.ValidationError."""

    def __init__(self) -> None:
        self.schema = TriageRequestSchema()
        self._checks: dict[str, dict[str, Check]] = {group: {} for group in GROUPS}
        for name, finding in FINDINGS.items():
            self._checks[finding.group][name] = _check(finding)

    def load(self, body: Any) -> dict[str, dict[str, Any]]:
        """The intake as Marshmallow would load it; raises ValidationError when invalid."""
        fast = self._fast(body)
        if fast is not None:
            return fast
        loaded: dict[str, dict[str, Any]] = self.schema.load(body)
        return loaded

    def _fast(self, body: Any) -> dict[str, dict[str, Any]] | None:
        if type(body) is not dict:
            return None
        loaded: dict[str, dict[str, Any]] = {}
        for group, answers in body.items():
            checks = self._checks.get(group)
            if checks is None or type(answers) is not dict:
                return None
            for name, value in answers.items():
                check = checks.get(name)
                if check is None or not check(value):
                    return None
            loaded[group] = dict(answers)
        return loaded


# One per process: every endpoint validates through it (it holds only compiled checks).
validate_intake = IntakeValidator().load
