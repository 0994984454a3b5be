"""Load rules/, refuse anything invalid (naming the file and the rule), and compute its digest."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Hashable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml
from marshmallow import Schema, ValidationError, fields, validate

from service.domain.conditions import (
    Node,
    findings_of,
    parse,
    to_explainer,
    to_predicate,
)
from service.domain.findings import FINDINGS, Question
from service.domain.locales import (
    LOCALES_DIR,
    check_locale,
    english_catalogue,
    read_group_titles,
)
from service.domain.ruleset import Addition, AdviceLine, AdvicePolicy, Rule, Ruleset, SharedLine
from service.domain.strict_schema import StrictSchema
from service.exceptions import ConditionError, RulesetError

MANIFEST = "ruleset.yaml"
CITATIONS = "citations.yaml"
QUESTIONS = "questions.yaml"
CASES_SUFFIX = "_test.yaml"


_NAME = validate.Regexp(r"^[a-z][a-z0-9_]*$")
_TEXT = fields.String(required=True, validate=validate.Length(min=1))
_RULE_ID = re.compile(r"^([A-Z]+)([0-9]*)([a-z]?)$")
_NAMES = fields.List(fields.String(validate=_NAME), required=True, validate=validate.Length(min=1))


class _CallBackSchema(StrictSchema):
    destination = fields.String(required=True, validate=_NAME)
    today = _NAMES
    go_now = _TEXT


class _SharedLineSchema(StrictSchema):
    when = fields.Raw(required=True)
    then = _TEXT
    else_ = fields.String(required=True, data_key="else", validate=validate.Length(min=1))


class _AdditionSchema(StrictSchema):
    id = fields.String(required=True, validate=validate.Regexp(r"^[A-Z][A-Z0-9]*$"))
    when = fields.Raw(required=True)
    urgencies = _NAMES
    line = _TEXT


class _AdviceSchema(StrictSchema):
    call_back = fields.Nested(_CallBackSchema, required=True)
    informational_urgencies = _NAMES
    shared = fields.Dict(keys=fields.String(validate=_NAME), values=fields.Raw(), load_default=dict)
    additions = fields.List(fields.Nested(_AdditionSchema), load_default=list)


class _ManifestSchema(StrictSchema):
    id = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_-]*$"))
    version = fields.String(required=True, validate=validate.Regexp(r"^\d{4}\.\d{1,2}\.\d+$"))
    title = _TEXT
    levels = fields.List(fields.String(validate=_NAME), required=True, validate=validate.Length(2))
    urgencies = fields.List(
        fields.String(validate=_NAME), required=True, validate=validate.Length(2)
    )
    escalations = fields.List(fields.String(validate=_NAME), required=True)
    settings = fields.List(
        fields.String(validate=_NAME), required=True, validate=validate.Length(2)
    )
    destinations = fields.Dict(
        keys=fields.String(validate=_NAME), values=fields.String(), required=True
    )
    rule_index = fields.List(fields.String(validate=validate.Regexp(r"^[A-Z]+$")), required=True)
    default_rule = fields.String(required=True)
    helpers = fields.Dict(keys=fields.String(validate=validate.Regexp(r"^[A-Z][A-Z0-9_]*$")))
    advice = fields.Nested(_AdviceSchema, required=True)
    families = fields.List(
        fields.String(validate=_NAME), required=True, validate=validate.Length(min=1)
    )
    asked_when = fields.Dict(keys=fields.String(), values=fields.Raw(), load_default=dict)
    red_flag_screen = fields.String(required=True)
    card_indicators = fields.Dict(
        keys=fields.String(validate=_NAME),
        values=fields.String(validate=validate.OneOf(("info", "warning", "critical"))),
        required=True,
    )
    population = _TEXT
    unknown_promise = _TEXT
    disclaimer = _TEXT


class _QuestionSchema(StrictSchema):
    label = _TEXT
    help = _TEXT


class _QuestionsSchema(StrictSchema):
    questions = fields.Dict(
        keys=fields.String(), values=fields.Nested(_QuestionSchema), required=True
    )


class _CitationSchema(StrictSchema):
    title = _TEXT
    authors = _TEXT
    year = fields.Integer(strict=True, required=True, allow_none=True)
    url = fields.Url(required=True, allow_none=True)
    verification = _TEXT
    references = fields.List(
        fields.String(validate=validate.Length(min=1)),
        required=True,
        validate=validate.Length(min=1),
    )


class _RuleSchema(StrictSchema):
    id = fields.String(required=True, validate=validate.Regexp(_RULE_ID.pattern))
    version = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    title = _TEXT
    when = fields.Raw()
    level = _TEXT
    urgency = _TEXT
    escalation = fields.String(load_default=None)
    destination = _TEXT
    setting = _TEXT
    needs_clinician_review = fields.Boolean(load_default=False)
    informational = fields.Boolean(load_default=False)
    statement = _TEXT
    advice = fields.List(fields.Raw(), required=True, validate=validate.Length(min=1))
    citations = fields.List(fields.String(), required=True)


class _FamilySchema(StrictSchema):
    family = fields.String(required=True, validate=_NAME)
    title = _TEXT
    rules = fields.List(fields.Raw(), required=True, validate=validate.Length(min=1))


def _unique_keys(
    loader: yaml.constructor.SafeConstructor, node: yaml.MappingNode, deep: bool = False
) -> dict[Any, Any]:
    """A mapping as safe_load builds it, except that a key written twice is an error. Built in
    one pass: checking the keys first and then letting SafeConstructor build the mapping built
    every key twice (a tenth of the start-up). Merge keys (<<) are refused, as before."""
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if not isinstance(key, Hashable):
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                "found unhashable key",
                key_node.start_mark,
            )
        if key in mapping:
            raise _duplicate(key, key_node)
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


def _duplicate(key: Any, key_node: yaml.Node) -> yaml.constructor.ConstructorError:
    return yaml.constructor.ConstructorError(
        None, None, f"duplicate key {key!r}", key_node.start_mark
    )


class _UniqueKeyLoader(yaml.SafeLoader):
    """safe_load, except that a key written twice in one mapping is an error, not a silent win."""

    construct_mapping = _unique_keys


_LOADER: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = _UniqueKeyLoader
if yaml.__with_libyaml__:  # PyYAML's wheels bundle libyaml: its parser reads YAML ~6x faster

    class _FastUniqueKeyLoader(yaml.CSafeLoader):
        """The same loader on libyaml's parser: the same documents, the same duplicate check."""

        construct_mapping = _unique_keys

    _LOADER = _FastUniqueKeyLoader


def read_yaml(path: Path) -> Any:
    """One YAML document, safely; duplicate keys refused."""
    with path.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_LOADER)  # noqa: S506 (safe: SafeConstructor only)


def _read(path: Path) -> Any:
    try:
        return read_yaml(path)
    except FileNotFoundError:
        raise RulesetError(f"{path}: file is missing") from None
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise RulesetError(f"{path}: not valid YAML: {error}") from None


def _check(schema: Schema, data: Any, where: str) -> Any:
    try:
        return schema.load(data)
    except ValidationError as error:
        raise RulesetError(f"{where}: {_flatten(error.messages)}") from None


def _flatten(messages: Any, prefix: str = "") -> str:
    if isinstance(messages, dict):
        return "; ".join(_flatten(v, f"{prefix}{k}.") for k, v in messages.items())
    if isinstance(messages, list):
        return f"{prefix.rstrip('.')}: {' '.join(str(m) for m in messages)}"
    return f"{prefix.rstrip('.')}: {messages}"


class _Loader:
    """One load of a rules folder; each check raises RulesetError naming file and rule."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.raw: dict[str, Any] = {}

    def load(self) -> Ruleset:
        manifest = self._manifest()
        citations = self._citations()
        helpers = self._helpers(manifest)
        self._refuse_stray_files(manifest["families"])
        rules: list[Rule] = []
        for family in manifest["families"]:
            rules.extend(self._family(family, manifest, citations, helpers))
        seen: dict[str, str] = {}
        for rule in rules:
            if rule.id in seen:
                raise RulesetError(
                    f"{self.folder / (rule.family + '.yaml')}: rule {rule.id}: duplicate id "
                    f"(also in {seen[rule.id]}.yaml)"
                )
            seen[rule.id] = rule.family
        defaults = [rule for rule in rules if rule.when is None]
        if not defaults:
            raise RulesetError(
                f"{self.folder / MANIFEST}: default_rule {manifest['default_rule']} is not defined"
            )
        advice = self._advice(manifest, helpers)
        situations = self._asked_when(manifest, helpers)
        questions = self._questions()
        self._check_interop(manifest, rules)
        for rule in rules:
            for line in rule.advice:
                if line.shared is not None and line.shared not in advice.shared:
                    raise RulesetError(
                        f"{self.folder / (rule.family + '.yaml')}: rule {rule.id}: unknown "
                        f"shared advice line '{line.shared}'"
                    )
        english = Ruleset(
            id=manifest["id"],
            version=manifest["version"],
            sha256=self._digest(),
            levels=tuple(manifest["levels"]),
            urgencies=tuple(manifest["urgencies"]),
            settings=tuple(manifest["settings"]),
            rules=tuple(rule for rule in rules if rule.when is not None),
            default=defaults[0],
            citations=citations,
            destinations=manifest["destinations"],
            helpers=manifest.get("helpers") or {},
            advice=advice,
            asked_when={name: to_predicate(node) for name, node in situations.items()},
            asked_when_source=manifest["asked_when"],
            asked_when_reads={name: findings_of(node) for name, node in situations.items()},
            questions=questions,
            red_flag_screen=manifest["red_flag_screen"],
            card_indicators=manifest["card_indicators"],
            population=manifest["population"],
            unknown_promise=manifest["unknown_promise"],
            disclaimer=manifest["disclaimer"],
            escalations=tuple(manifest["escalations"]),
        )
        return self._with_locales(english)

    def _with_locales(self, ruleset: Ruleset) -> Ruleset:
        """The English ruleset with its catalogue of texts and every locale file checked
        against it (rules/locales/<language>.yaml; service.domain.locales)."""
        catalogue = english_catalogue(ruleset, read_group_titles(self.folder, _read))
        locales = {}
        for path in sorted((self.folder / LOCALES_DIR).glob("*.y*ml")):
            locale = check_locale(path, _read(path), catalogue, _check, content_digest)
            locales[locale.language] = locale
        return replace(ruleset, texts=catalogue, locales=locales)

    def _manifest(self) -> dict[str, Any]:
        path = self.folder / MANIFEST
        self.raw[MANIFEST] = data = _read(path)
        manifest: dict[str, Any] = _check(_ManifestSchema(), data, str(path))
        for name in ("levels", "urgencies", "settings", "families", "rule_index"):
            if len(set(manifest[name])) != len(manifest[name]):
                raise RulesetError(f"{path}: {name} lists a name twice")
        return manifest

    def _condition(self, tree: Any, helpers: Mapping[str, Node], where: str) -> Node:
        try:
            return parse(tree, helpers)
        except ConditionError as error:
            raise RulesetError(f"{self.folder / MANIFEST}: {where}: {error}") from None

    def _advice(self, manifest: dict[str, Any], helpers: Mapping[str, Node]) -> AdvicePolicy:
        spec = manifest["advice"]
        call_back = spec["call_back"]
        where = f"{self.folder / MANIFEST}: advice"
        if call_back["destination"] not in manifest["destinations"]:
            raise RulesetError(f"{where}: call_back destination is not in the manifest")
        for name in (*call_back["today"], *spec["informational_urgencies"]):
            if name not in manifest["urgencies"]:
                raise RulesetError(f"{where}: urgency '{name}' is not in the manifest")
        shared = {}
        for name, raw in spec["shared"].items():
            line = _check(_SharedLineSchema(), raw, f"{where}: shared {name}")
            node = self._condition(line["when"], helpers, f"advice shared {name}")
            shared[name] = SharedLine(name, to_predicate(node), line["then"], line["else_"])
        additions = []
        for raw in spec["additions"]:
            for name in raw["urgencies"]:
                if name not in manifest["urgencies"]:
                    raise RulesetError(f"{where}: {raw['id']}: urgency '{name}' is not known")
            node = self._condition(raw["when"], helpers, f"advice {raw['id']}")
            additions.append(
                Addition(raw["id"], to_predicate(node), frozenset(raw["urgencies"]), raw["line"])
            )
        return AdvicePolicy(
            call_back_destination=call_back["destination"],
            today=frozenset(call_back["today"]),
            go_now=call_back["go_now"],
            informational_urgencies=frozenset(spec["informational_urgencies"]),
            shared=shared,
            additions=tuple(additions),
        )

    def _asked_when(self, manifest: dict[str, Any], helpers: Mapping[str, Node]) -> dict[str, Node]:
        asked: dict[str, Node] = {}
        for name, tree in manifest["asked_when"].items():
            if name not in FINDINGS:
                raise RulesetError(
                    f"{self.folder / MANIFEST}: asked_when: unknown finding '{name}'"
                )
            asked[name] = self._condition(tree, helpers, f"asked_when {name}")
        return asked

    def _citations(self) -> dict[str, dict[str, Any]]:
        path = self.folder / CITATIONS
        self.raw[CITATIONS] = data = _read(path)
        if not isinstance(data, dict) or not data:
            raise RulesetError(f"{path}: expected a mapping of citation keys")
        citations: dict[str, dict[str, Any]] = {}
        for key, entry in data.items():
            if not isinstance(key, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", key):
                raise RulesetError(f"{path}: citation key {key!r} is not a lower_snake name")
            citations[key] = {"key": key, **_check(_CitationSchema(), entry, f"{path}: {key}")}
        return citations

    def _helpers(self, manifest: dict[str, Any]) -> dict[str, Node]:
        helpers: dict[str, Node] = {}
        for name, tree in (manifest.get("helpers") or {}).items():
            try:
                helpers[name] = parse(tree, helpers)
            except ConditionError as error:
                raise RulesetError(f"{self.folder / MANIFEST}: helper {name}: {error}") from None
        return helpers

    def _questions(self) -> dict[str, Question]:
        """Each finding's wording, in intake order; every finding worded, no other name."""
        path = self.folder / QUESTIONS
        self.raw[QUESTIONS] = data = _read(path)
        worded = _check(_QuestionsSchema(), data, str(path))["questions"]
        if missing := [name for name in FINDINGS if name not in worded]:
            raise RulesetError(f"{path}: no wording for {', '.join(missing)}")
        if unknown := sorted(set(worded) - set(FINDINGS)):
            raise RulesetError(f"{path}: unknown finding {', '.join(unknown)}")
        return {
            name: Question(**vars(finding), label=worded[name]["label"], help=worded[name]["help"])
            for name, finding in FINDINGS.items()
        }

    def _check_interop(self, manifest: dict[str, Any], rules: list[Rule]) -> None:
        """The red-flag screen names a rule; a card indicator is given for every urgency."""
        path = self.folder / MANIFEST
        if manifest["red_flag_screen"] not in {rule.id for rule in rules if rule.when is not None}:
            raise RulesetError(f"{path}: red_flag_screen: no rule {manifest['red_flag_screen']}")
        if set(manifest["card_indicators"]) != set(manifest["urgencies"]):
            raise RulesetError(f"{path}: card_indicators: one indicator for each urgency")

    def _refuse_stray_files(self, families: list[str]) -> None:
        expected = {MANIFEST, CITATIONS, QUESTIONS} | {f"{family}.yaml" for family in families}
        for path in sorted(self.folder.glob("*.y*ml")):
            if path.name not in expected and not path.name.endswith(CASES_SUFFIX):
                raise RulesetError(f"{path}: not a family listed in {MANIFEST}")

    def _family(
        self,
        family: str,
        manifest: dict[str, Any],
        citations: Mapping[str, Any],
        helpers: Mapping[str, Node],
    ) -> list[Rule]:
        path = self.folder / f"{family}.yaml"
        self.raw[path.name] = data = _read(path)
        content = _check(_FamilySchema(), data, str(path))
        if content["family"] != family:
            raise RulesetError(f"{path}: declares family '{content['family']}', not '{family}'")
        return [
            self._rule(path, family, index, raw, manifest, citations, helpers)
            for index, raw in enumerate(content["rules"])
        ]

    def _rule(
        self,
        path: Path,
        family: str,
        index: int,
        raw: Any,
        manifest: dict[str, Any],
        citations: Mapping[str, Any],
        helpers: Mapping[str, Node],
    ) -> Rule:
        name = raw.get("id") if isinstance(raw, dict) else None
        where = f"{path}: rule {name if isinstance(name, str) else f'#{index + 1}'}"
        spec = _check(_RuleSchema(), raw, where)
        if spec["level"] not in manifest["levels"]:
            raise RulesetError(f"{where}: level '{spec['level']}' is not in the manifest")
        if spec["urgency"] not in manifest["urgencies"]:
            raise RulesetError(f"{where}: urgency '{spec['urgency']}' is not in the manifest")
        escalation, destination = spec["escalation"], spec["destination"]
        if escalation is not None and escalation not in manifest["escalations"]:
            raise RulesetError(f"{where}: escalation '{escalation}' is not in the manifest")
        if (spec["urgency"] == manifest["urgencies"][-1]) != (escalation is not None):
            raise RulesetError(f"{where}: rules of the highest urgency, and only they, escalate")
        if destination not in manifest["destinations"]:
            raise RulesetError(f"{where}: destination '{destination}' is not in the manifest")
        if spec["setting"] not in manifest["settings"]:
            raise RulesetError(f"{where}: setting '{spec['setting']}' is not in the manifest")
        if spec["informational"] and (
            spec["level"] != manifest["levels"][0] or spec["urgency"] != manifest["urgencies"][0]
        ):
            raise RulesetError(f"{where}: an informational rule has the lowest level and urgency")
        prefix = _RULE_ID.match(spec["id"])
        if prefix is None or prefix.group(1) not in manifest["rule_index"]:
            raise RulesetError(f"{where}: id prefix is not in the manifest's rule_index")
        if not spec["citations"]:
            raise RulesetError(f"{where}: a rule must carry at least one citation")
        for key in spec["citations"]:
            if key not in citations:
                raise RulesetError(f"{where}: unknown citation key '{key}'")
        is_default = spec["id"] == manifest["default_rule"]
        if ("when" in spec) == is_default:
            raise RulesetError(
                f"{where}: only the default rule ({manifest['default_rule']}) has no condition, "
                "and it must have none"
            )
        node: Node | None = None
        if "when" in spec:
            try:
                node = parse(spec["when"], helpers)
            except ConditionError as error:
                raise RulesetError(f"{where}: {error}") from None
        return Rule(
            id=spec["id"],
            version=spec["version"],
            title=spec["title"],
            family=family,
            when=node,
            source=spec.get("when"),
            predicate=to_predicate(node) if node is not None else (lambda _facts: False),
            explain=to_explainer(node) if node is not None else (lambda _facts: {}),
            findings=findings_of(node) if node is not None else frozenset(),
            level=spec["level"],
            urgency=spec["urgency"],
            escalation=escalation,
            destination=destination,
            setting=spec["setting"],
            needs_clinician_review=spec["needs_clinician_review"],
            informational=spec["informational"],
            statement=spec["statement"],
            advice=tuple(_advice_line(item, where) for item in spec["advice"]),
            citations=tuple(spec["citations"]),
            rank=(
                manifest["urgencies"].index(spec["urgency"]),
                manifest["levels"].index(spec["level"]),
            ),
            order=(
                list(manifest["destinations"]).index(destination),
                manifest["rule_index"].index(prefix.group(1)),
                int(prefix.group(2) or 0),
                ord(prefix.group(3)) if prefix.group(3) else 0,
            ),
        )

    def _digest(self) -> str:
        return content_digest(self.raw)


def _advice_line(item: Any, where: str) -> AdviceLine:
    """A plain line, `call_back: <line>` (clinical.md 7.8 A1) or `shared: <name>` (A2)."""
    if isinstance(item, str) and item.strip():
        return AdviceLine(item)
    if isinstance(item, dict) and len(item) == 1:
        ((kind, value),) = item.items()
        if kind == "call_back" and isinstance(value, str) and value.strip():
            return AdviceLine(value, call_back=True)
        if kind == "shared" and isinstance(value, str) and value.strip():
            return AdviceLine(None, shared=value)
    raise RulesetError(
        f"{where}: advice: each line is text, 'call_back: <text>' or 'shared: <name>', not {item!r}"
    )


def content_digest(content: Any) -> str:
    """sha256 of parsed YAML content, not of the bytes: comments and layout change nothing."""
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def load_ruleset(folder: str | Path) -> Ruleset:
    """Load and validate a rules folder; raise RulesetError naming the file and rule at fault."""
    path = Path(folder)
    if not path.is_dir():
        raise RulesetError(f"{path}: rules folder not found")
    return _Loader(path).load()
