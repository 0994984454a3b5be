"""The finding vocabulary (name, group, kind, values, bounds) read off the schemas; questions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from marshmallow import fields, validate

from service.domain.intake_schema import GROUPS, UNKNOWN

Kind = Literal["tri_state", "enum", "integer"]


@dataclass(frozen=True)
class Finding:
    """One finding of the intake, as the schemas define it (no wording: see Question)."""

    name: str
    group: str
    kind: Kind
    values: tuple[str, ...]
    minimum: int | None
    maximum: int | None

    @property
    def is_numeric(self) -> bool:
        return self.kind == "integer"

    @property
    def bounds(self) -> tuple[int, int]:
        """(minimum, maximum) of a numeric finding."""
        if self.minimum is None or self.maximum is None:
            raise TypeError(f"'{self.name}' is not a number")
        return self.minimum, self.maximum


@dataclass(frozen=True)
class Question(Finding):
    """A finding with its wording (rules/questions.yaml): what the patient or clinician reads."""

    label: str
    help: str


def _finding(group: str, name: str, field: fields.Field[Any]) -> Finding:
    if isinstance(field, fields.Integer):
        (rng,) = (v for v in field.validators if isinstance(v, validate.Range))
        return Finding(name, group, "integer", (), int(rng.min), int(rng.max))
    (one_of,) = (v for v in field.validators if isinstance(v, validate.OneOf))
    values = tuple(str(c) for c in one_of.choices)
    kind: Kind = "tri_state" if values == ("yes", "no", UNKNOWN) else "enum"
    return Finding(name, group, kind, values, None, None)


def _catalogue() -> dict[str, Finding]:
    catalogue: dict[str, Finding] = {}
    for group, schema in GROUPS.items():
        for name, field in schema().fields.items():
            catalogue[name] = _finding(group, name, field)
    return catalogue


FINDINGS: dict[str, Finding] = _catalogue()
