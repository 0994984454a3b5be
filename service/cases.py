"""Read named intakes with expected outcomes: rule cases (rules/*_test.yaml) and vignettes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from service.ruleset import CASES_SUFFIX


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
    reasoning: str = ""


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = {group: dict(answers) for group, answers in base.items()}
    for group, answers in extra.items():
        merged.setdefault(group, {}).update(answers or {})
    return merged


def load_cases(folder: str | Path) -> list[Case]:
    """Every case of every case file, in file then case order; the base input is merged in."""
    cases: list[Case] = []
    for path in sorted(Path(folder).glob(f"*{CASES_SUFFIX}")):
        with path.open(encoding="utf-8") as handle:
            content = yaml.safe_load(handle)
        family = path.name.removesuffix(CASES_SUFFIX)
        base = content.get("base") or {}
        for raw in content["cases"]:
            expect = raw["expect"]
            cases.append(
                Case(
                    family=family,
                    name=raw["name"],
                    intake=_merge(base, raw.get("input") or {}),
                    level=expect["level"],
                    urgency=expect["urgency"],
                    fired=tuple(expect.get("fired") or ()),
                    not_fired=tuple(expect.get("not_fired") or ()),
                    needs_clinician_review=expect.get("needs_clinician_review"),
                )
            )
    return cases


def load_vignettes(path: str | Path) -> list[Case]:
    """The clinical vignettes of one file: full intakes, each with its clinical reasoning."""
    with Path(path).open(encoding="utf-8") as handle:
        content = yaml.safe_load(handle)
    cases: list[Case] = []
    for raw in content["vignettes"]:
        expect = raw["expect"]
        cases.append(
            Case(
                family="vignette",
                name=f"{raw['id']} {raw['title']}",
                intake=raw["intake"],
                level=expect["level"],
                urgency=expect["urgency"],
                fired=tuple(expect.get("fired") or ()),
                not_fired=tuple(expect.get("not_fired") or ()),
                needs_clinician_review=expect.get("needs_clinician_review"),
                reasoning=raw["reasoning"],
            )
        )
    return cases
