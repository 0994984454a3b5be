"""Intake validation: the Marshmallow schema, with a fast path compiled from that same schema.

Marshmallow's per-field machinery costs about 80 µs for a full intake, as much as the rule
engine. Most intakes are valid, so a plain check compiled from the schema's own fields (group
names, finding names, OneOf choices, Range bounds, strict integers) accepts them directly.

An intake it does not accept is not handed whole to Marshmallow either: with every value wrong
and a hundred made-up keys (4 KiB), Marshmallow's full messages take about 3 ms, five times a
valid intake's whole answer (bench/error_cost.py). The same compiled checks find the invalid
fields; the message of each of the first MAX_ERRORS comes from the schema's own field (so its
text is Marshmallow's), and the rest are only counted. tests/domain/test_intake_validator.py
proves the messages equal Marshmallow's on valid and invalid input alike (up to MAX_ERRORS
errors), and tests/http/test_error_cost.py that the ones listed past it are Marshmallow's and
the count is right.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import filterfalse
from typing import Any

from marshmallow import Schema, ValidationError

from service.domain.findings import FINDINGS, Finding
from service.domain.intake_schema import GROUPS, TriageRequestSchema

# A 422 lists at most this many field errors (and says how many more there were).
MAX_ERRORS = 20

Check = Callable[[Any], bool]


class IntakeInvalid(ValidationError):
    """An invalid intake: Marshmallow's messages for the first MAX_ERRORS field errors.

    omitted: how many more field errors the intake has, not in `messages`.
    """

    def __init__(self, messages: dict[str, Any], omitted: int) -> None:
        super().__init__(messages)
        self.omitted = omitted


def _check(finding: Finding) -> Check:
    if finding.is_numeric:
        low, high = finding.bounds
        # type() and not isinstance(): bool is an int subclass, and true is not a number.
        return lambda value: value is None or (type(value) is int and low <= value <= high)
    allowed = frozenset(finding.values)
    return lambda value: value is None or (type(value) is str and value in allowed)


class IntakeValidator:
    """load(body) -> the validated intake, or marshmallow.ValidationError (IntakeInvalid)."""

    def __init__(self) -> None:
        self.schema = TriageRequestSchema()
        self._group_schemas: dict[str, Schema] = {group: cls() for group, cls in GROUPS.items()}
        self._checks: dict[str, dict[str, Check]] = {group: {} for group in GROUPS}
        for name, finding in FINDINGS.items():
            self._checks[finding.group][name] = _check(finding)
        # The same checks as set membership, for the valid intakes (nearly all): each group's
        # (finding, answer) pairs not among the allowed choices (and nulls) leave only numbers
        # to check one by one; a step per finding was a tenth of a triage. Per group: the
        # allowed pairs' __contains__ (filterfalse calls it in C) and the numeric bounds.
        allowed: dict[str, set[tuple[str, Any]]] = {group: set() for group in GROUPS}
        numbers: dict[str, dict[str, tuple[int, int]]] = {group: {} for group in GROUPS}
        for name, finding in FINDINGS.items():
            allowed[finding.group] |= {(name, None), *((name, value) for value in finding.values)}
            if finding.is_numeric:
                numbers[finding.group][name] = finding.bounds
        self._groups: dict[str, tuple[Check, dict[str, tuple[int, int]]]] = {
            group: (frozenset(allowed[group]).__contains__, numbers[group]) for group in GROUPS
        }

    def load(self, body: Any, limit: int = MAX_ERRORS) -> dict[str, dict[str, Any]]:
        """The intake as Marshmallow would load it; raises IntakeInvalid when invalid.

        limit: the most errors given a message (the web form, whose errors are bounded by its
        questions, shows them all).
        """
        fast = self._fast(body)
        if fast is not None:
            return fast
        if type(body) is not dict:
            loaded: dict[str, dict[str, Any]] = self.schema.load(body)  # raises: not an object
            return loaded  # pragma: no cover (the fast path takes every valid object)
        raise self._invalid(body, limit)

    def _invalid(self, body: dict[str, Any], limit: int) -> IntakeInvalid:
        """The errors of an intake the fast path refused, in the body's order, at most `limit`.

        Each message is the one the schema's own field gives, nested as schema.load nests it.
        """
        # (group or None at the top, key, the schema holding the key, the value): cheap to list.
        refused: list[tuple[str | None, str, Schema, Any]] = []
        for group, answers in body.items():
            checks = self._checks.get(group)
            if checks is None or type(answers) is not dict:
                refused.append((None, group, self.schema, answers))
                continue
            schema = self._group_schemas[group]
            refused.extend(
                (group, name, schema, value)
                for name, value in answers.items()
                if not checks.get(name, _unknown)(value)
            )
        messages: dict[str, Any] = {}
        for within, key, schema, value in refused[:limit]:
            into = messages if within is None else messages.setdefault(within, {})
            field = schema.fields.get(key)
            into[key] = (
                [str(schema.error_messages["unknown"])] if field is None else _message(field, value)
            )
        return IntakeInvalid(messages, max(len(refused) - limit, 0))

    def _fast(self, body: Any) -> dict[str, dict[str, Any]] | None:
        """The intake (each group a new dict, in the body's order) when every group and finding
        is known and every answer null or allowed; None otherwise (then Marshmallow decides)."""
        if type(body) is not dict:
            return None
        intake = {}
        for group, answers in body.items():
            found = self._groups.get(group)
            if found is None or type(answers) is not dict:
                return None
            allowed, numbers = found
            try:
                # The pairs not allowed outright, found in C: `items() - allowed` (a set made,
                # then every allowed pair looked up in it) cost a third more.
                for name, value in filterfalse(allowed, answers.items()):
                    bounds = numbers.get(name)
                    # type() and not isinstance(): bool is an int subclass, and true is no number.
                    if bounds is None or type(value) is not int:
                        return None
                    if not bounds[0] <= value <= bounds[1]:
                        return None
            except TypeError:  # an unhashable answer (a list, an object): not allowed
                return None
            intake[group] = dict(answers)
        return intake


def _unknown(_value: Any) -> bool:
    """The check of a key the schema does not know: always refused."""
    return False


def _message(field: Any, value: Any) -> Any:
    """The messages the schema's field gives for a value the compiled check refused."""
    try:
        field.deserialize(value)
    except ValidationError as error:
        return error.messages
    raise AssertionError(f"the check and the field '{field.name}' disagree")  # pragma: no cover


# One per process: every endpoint validates through it (it holds only compiled checks).
validate_intake = IntakeValidator().load
