"""Locales: every patient-facing text by key, English the source, other languages as files.

The English catalogue is read off the loaded ruleset (rules, questions, manifest), the question
order's group titles and the few words the surfaces add (service.domain.wording). A locale file,
rules/locales/<language>.yaml, gives each key its translation, the English it was made from and
its review status; the loader refuses a file that misses a key, keeps a key that no longer
exists, was made from English that has since changed, or changes the placeholders. Adding a
language is adding a file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from marshmallow import fields, validate

from service.domain.condition_wording import describe_plain
from service.domain.findings import FINDINGS
from service.domain.ruleset import (
    SOURCE_LANGUAGE,
    STATUSES,
    Addition,
    AdviceLine,
    AdvicePolicy,
    Locale,
    Rule,
    Ruleset,
    SharedLine,
)
from service.domain.strict_schema import StrictSchema
from service.domain.wording import SURFACE_WORDS, display
from service.exceptions import RulesetError

LOCALES_DIR = "locales"
INTERVIEW_ORDER = Path("interview") / "order.yaml"
_PLACEHOLDER = re.compile(r"\{[a-z_][a-z0-9_]*\}")
_LANGUAGE_TAG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
# Keys a locale may leave out: publication titles are translated only where a published
# translation of the title exists; otherwise the original title is shown.
OPTIONAL_PREFIXES = ("citation.",)


def placeholders(text: str) -> list[str]:
    """The `{name}` placeholders of a text, sorted: a translation must keep exactly these."""
    return sorted(_PLACEHOLDER.findall(text))


def english_catalogue(ruleset: Ruleset, group_titles: Mapping[str, str]) -> dict[str, str]:
    """Every text a surface can show, by key, in English (the source); optional keys included."""
    texts: dict[str, str] = {}
    for rule in (*ruleset.rules, ruleset.default):
        texts[f"family.{rule.family}"] = rule.family  # a page names the family by its code
        texts[f"rule.{rule.id}.title"] = rule.title
        texts[f"rule.{rule.id}.statement"] = rule.statement
        for index, line in enumerate(rule.advice):
            if line.text is not None:
                texts[f"rule.{rule.id}.advice.{index}"] = line.text
    for code, name in ruleset.destinations.items():
        texts[f"destination.{code}"] = name
    for name, question in ruleset.questions.items():
        texts[f"question.{name}.label"] = question.label
        texts[f"question.{name}.help"] = question.help
    for value in sorted({value for finding in FINDINGS.values() for value in finding.values}):
        texts[f"choice.{value}"] = display(value)
    for name, source in ruleset.asked_when_source.items():
        texts[f"asked_when.{name}"] = describe_plain(source, ruleset.helpers)
    policy = ruleset.advice
    texts["advice.go_now"] = policy.go_now
    for name, shared in policy.shared.items():
        texts[f"advice.shared.{name}.then"] = shared.then
        texts[f"advice.shared.{name}.else"] = shared.otherwise
    for addition in policy.additions:
        texts[f"advice.addition.{addition.id}"] = addition.line
    texts["disclaimer"] = ruleset.disclaimer
    texts["population"] = ruleset.population
    texts["unknown_promise"] = ruleset.unknown_promise
    for kind, codes in (
        ("level", ruleset.levels),
        ("urgency", ruleset.urgencies),
        ("setting", ruleset.settings),
        ("escalation", ruleset.escalations),
    ):
        for code in codes:
            texts[f"{kind}.{code}"] = display(code)
    for group, title in group_titles.items():
        texts[f"interview.group.{group}.title"] = title
    texts.update(SURFACE_WORDS)
    for key, citation in ruleset.citations.items():
        texts[f"citation.{key}.title"] = citation["title"]
    return texts


def is_optional(key: str) -> bool:
    return key.startswith(OPTIONAL_PREFIXES)


class _EntrySchema(StrictSchema):
    source = fields.String(required=True, validate=validate.Length(min=1))
    text = fields.String(required=True, validate=validate.Length(min=1))
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))


class _LocaleSchema(StrictSchema):
    language = fields.String(required=True, validate=validate.Regexp(_LANGUAGE_TAG.pattern))
    name = fields.String(required=True, validate=validate.Length(min=1))
    texts = fields.Dict(keys=fields.String(), values=fields.Raw(), required=True)


def check_locale(
    path: Path, data: Any, english: Mapping[str, str], check: Any, digest: Any
) -> Locale:
    """A locale file checked against the English catalogue; RulesetError names key and file."""
    spec = check(_LocaleSchema(), data, str(path))
    if spec["language"] != path.stem:
        raise RulesetError(f"{path}: declares language '{spec['language']}', not '{path.stem}'")
    if spec["language"] == SOURCE_LANGUAGE:
        raise RulesetError(f"{path}: English is the source (rules/*.yaml), not a locale file")
    given: dict[str, Any] = spec["texts"]
    if stale := sorted(set(given) - set(english)):
        raise RulesetError(f"{path}: keys that no longer exist: {', '.join(stale[:10])}")
    required = [key for key in english if not is_optional(key)]
    if missing := [key for key in required if key not in given]:
        raise RulesetError(f"{path}: missing {len(missing)} keys: {', '.join(missing[:10])}")
    texts: dict[str, str] = {}
    statuses: dict[str, str] = {}
    for key, raw in given.items():
        entry = check(_EntrySchema(), raw, f"{path}: {key}")
        if entry["source"] != english[key]:
            raise RulesetError(
                f"{path}: {key}: translated from English that has since changed; "
                "translate the new English and update `source`"
            )
        if placeholders(entry["text"]) != placeholders(english[key]):
            raise RulesetError(
                f"{path}: {key}: placeholders {placeholders(entry['text'])} differ from the "
                f"English {placeholders(english[key])}"
            )
        texts[key], statuses[key] = entry["text"], entry["status"]
    return Locale(spec["language"], spec["name"], texts, statuses, digest(data))


def locale_document(
    english: Mapping[str, str],
    language: str,
    name: str,
    translate: Callable[[str, str], str],
    status: str = STATUSES[0],
) -> dict[str, Any]:
    """A locale file's content: `translate(key, english)` for every key (the pseudo-locale of
    the tests is made this way)."""
    return {
        "language": language,
        "name": name,
        "texts": {
            key: {"source": text, "text": translate(key, text), "status": status}
            for key, text in english.items()
        },
    }


def localize(ruleset: Ruleset, locale: Locale) -> Ruleset:
    """The ruleset with every text in `locale`'s language: same codes, conditions and rules'
    identities by id (rule objects are new: route by id, never by object, across languages)."""
    t = locale.texts

    def rule(r: Rule) -> Rule:
        return replace(
            r,
            title=t[f"rule.{r.id}.title"],
            statement=t[f"rule.{r.id}.statement"],
            advice=tuple(
                line
                if line.text is None
                else AdviceLine(t[f"rule.{r.id}.advice.{index}"], line.shared, line.call_back)
                for index, line in enumerate(r.advice)
            ),
        )

    policy = ruleset.advice
    advice = AdvicePolicy(
        call_back_destination=policy.call_back_destination,
        today=policy.today,
        go_now=t["advice.go_now"],
        informational_urgencies=policy.informational_urgencies,
        shared={
            name: SharedLine(
                name, s.when, t[f"advice.shared.{name}.then"], t[f"advice.shared.{name}.else"]
            )
            for name, s in policy.shared.items()
        },
        additions=tuple(
            Addition(a.id, a.when, a.urgencies, t[f"advice.addition.{a.id}"])
            for a in policy.additions
        ),
    )
    return replace(
        ruleset,
        language=locale.language,
        texts=locale.texts,
        rules=tuple(rule(r) for r in ruleset.rules),
        default=rule(ruleset.default),
        destinations={code: t[f"destination.{code}"] for code in ruleset.destinations},
        citations={
            key: {**entry, "title": locale.text(f"citation.{key}.title", entry["title"])}
            for key, entry in ruleset.citations.items()
        },
        advice=advice,
        questions={
            name: replace(
                question,
                label=t[f"question.{name}.label"],
                help=t[f"question.{name}.help"],
            )
            for name, question in ruleset.questions.items()
        },
        population=t["population"],
        unknown_promise=t["unknown_promise"],
        disclaimer=t["disclaimer"],
    )


def read_group_titles(folder: Path, read: Any) -> dict[str, str]:
    """The question order's group titles (shown by the interview), when the file is there."""
    path = folder / INTERVIEW_ORDER
    if not path.is_file():
        return {}
    data = read(path)
    groups = data.get("groups") if isinstance(data, dict) else None
    return {
        group["id"]: group["title"]
        for group in groups or []
        if isinstance(group, dict)
        and isinstance(group.get("id"), str)
        and isinstance(group.get("title"), str)
    }
