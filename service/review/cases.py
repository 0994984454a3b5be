"""Read named intakes with expected outcomes: rule cases (rules/*_test.yaml) and vignettes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from marshmallow import Schema, ValidationError, fields, validate

from service.domain.ruleset_loader import CASES_SUFFIX, read_yaml
from service.domain.strict_schema import StrictSchema
from service.exceptions import CaseFileError

_IDS = fields.List(fields.String(validate=validate.Regexp(r"^[A-Z]+[0-9]*[a-z]?$")))


class _ExpectSchema(StrictSchema):
    level = fields.String(required=True)
    urgency = fields.String(required=True)
    fired = _IDS
    not_fired = _IDS
    needs_clinician_review = fields.Boolean(truthy={True}, falsy={False})
    destination = fields.String()
    setting = fields.String()


class _CaseSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1))
    input = fields.Dict(keys=fields.String(), values=fields.Dict(allow_none=True))
    expect = fields.Nested(_ExpectSchema, required=True)


class _CaseFileSchema(StrictSchema):
    family = fields.String(required=True)
    base = fields.Dict(keys=fields.String(), values=fields.Dict())
    cases = fields.List(fields.Nested(_CaseSchema), required=True)


class _VignetteSchema(StrictSchema):
    id = fields.String(required=True, validate=validate.Regexp(r"^V\d{3}$"))
    title = fields.String(required=True, validate=validate.Length(min=1))
    story = fields.String(required=True, validate=validate.Length(min=1))
    reasoning = fields.String(required=True, validate=validate.Length(min=1))
    intake = fields.Dict(keys=fields.String(), values=fields.Dict(), required=True)
    expect = fields.Nested(_ExpectSchema, required=True)


class _VignetteFileSchema(StrictSchema):
    vignettes = fields.List(fields.Nested(_VignetteSchema), required=True)


@dataclass(frozen=True)
class Case:
    """One named case: the intake and what it must produce."""

    family: str
    name: str
    intake: dict[str, Any]
    level: str
    urgency: str
    fired: tuple[str, ...]
    not_fired: tuple[str, ...]
    needs_clinician_review: bool | None
    destination: str | None = None
    setting: str | None = None
    reasoning: str = ""


def _load(path: Path, schema: Schema, parsed: dict[str, Any] | None) -> Any:
    """A file's content, checked; its parsed YAML is kept in parsed[file name] when given."""
    try:
        data = read_yaml(path)
    except OSError as error:
        raise CaseFileError(f"{path}: cannot be read: {error.strerror or error}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise CaseFileError(f"{path}: not valid YAML: {error}") from None
    if parsed is not None:
        parsed[path.name] = data
    try:
        return schema.load(data)
    except ValidationError as error:
        raise CaseFileError(f"{path}: {error.messages}") from None


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = {group: dict(answers) for group, answers in base.items()}
    for group, answers in extra.items():
        merged.setdefault(group, {}).update(answers or {})
    return merged


def _case(family: str, name: str, intake: dict[str, Any], raw: Any, reasoning: str = "") -> Case:
    expect = raw["expect"]
    return Case(
        family=family,
        name=name,
        intake=intake,
        level=expect["level"],
        urgency=expect["urgency"],
        fired=tuple(expect.get("fired", ())),
        not_fired=tuple(expect.get("not_fired", ())),
        needs_clinician_review=expect.get("needs_clinician_review"),
        destination=expect.get("destination"),
        setting=expect.get("setting"),
        reasoning=reasoning,
    )


def load_cases(folder: str | Path, parsed: dict[str, Any] | None = None) -> list[Case]:
    """Every case of every case file, in file then case order; the base input is merged in.

    With parsed, each file's parsed YAML is also kept there under its file name (for a digest).
    """
    cases: list[Case] = []
    for path in sorted(Path(folder).glob(f"*{CASES_SUFFIX}")):
        content = _load(path, _CaseFileSchema(), parsed)
        family = path.name.removesuffix(CASES_SUFFIX)
        if content["family"] != family:
            raise CaseFileError(f"{path}: declares family '{content['family']}'")
        base = content.get("base", {})
        for raw in content["cases"]:
            intake = _merge(base, raw.get("input", {}))
            cases.append(_case(family, raw["name"], intake, raw))
    return cases


def load_vignettes(path: str | Path, parsed: dict[str, Any] | None = None) -> list[Case]:
    """The clinical vignettes of one file: full intakes, each with its clinical reasoning.

    With parsed, the file's parsed YAML is also kept there under its file name (for a digest).
    """
    content = _load(Path(path), _VignetteFileSchema(), parsed)
    return [
        _case("vignette", f"{raw['id']} {raw['title']}", raw["intake"], raw, raw["reasoning"])
        for raw in content["vignettes"]
    ]
