"""The R4 Questionnaire generated from the question catalogue (FINDINGS) and the manifest.

When a situational question is asked (clinical.md 2.2) comes from the manifest's `asked_when`,
parsed in the rule condition language: a condition that is one comparison, or an all/any of
comparisons, that R4 `enableWhen` states exactly becomes `enableWhen`; anything else becomes the
SDC `enableWhenExpression` extension, a FHIRPath expression over the response being filled in.
A condition neither can carry is a build error, never a question silently asked of everyone.

For SDC form fillers: the danger signs (the findings the red-flag screen reads) are a group of
their own and required, Unknown staying an answer; integers carry a UCUM unit; every item is coded
by our findings code system, and by LOINC where a LOINC code means exactly that question.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.domain.conditions import All, Any_, Compare, IsNull, Node, Not, parse
from service.domain.findings import FINDINGS, Question
from service.domain.intake_schema import GROUPS, UNKNOWN
from service.domain.ruleset import Ruleset
from service.exceptions import QuestionnaireError
from service.interop.fhir.common import (
    LOINC,
    MAX_VALUE,
    MIN_VALUE,
    PUBLISHER,
    UCUM,
    UNIT,
    FhirUrls,
)

DANGER_SIGNS = "danger_signs"  # the group of the red-flag screen's findings
SDC_QUESTIONNAIRE = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire"
TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"
# The string elements of our Questionnaire that people read: each carries a translation, but
# for the displays of other code systems (LOINC's, HL7's), theirs and the same in every language.
_TRANSLATED = ("text", "title", "description", "display")
_ITEM_CONTROL_CODES = "http://hl7.org/fhir/questionnaire-item-control"
_FOREIGN_SYSTEMS = frozenset({LOINC, _ITEM_CONTROL_CODES})
# Standard codes, only where one means exactly our question (verified against loinc.org). Their
# displays are LOINC's own, in English in every language (as HL7's "Help-Button").
_LOINC = {
    "age_years": ("30525-0", "Age"),
    "pain_nrs": ("72514-3", "Pain severity - 0-10 verbal numeric rating [Score] - Reported"),
}
# The UCUM unit of each integer question ({...} is a UCUM annotation: a count or a score); its
# display, which a form shows beside the field, is the locale text `unit.<finding>`.
_UNITS = {
    "age_years": "a",
    "conservative_care_weeks": "wk",
    "days_since_onset": "d",
    "pain_nrs": "{score}",
    "steps_immediately": "{steps}",
    "steps_now": "{steps}",
}
_ITEM_CONTROL = "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl"
ENABLE_WHEN_EXPRESSION = (
    "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-enableWhenExpression"
)
# Numeric comparisons R4 enableWhen states exactly: an unanswered question makes them false,
# as a comparison with an unknown number is false in the rules (clinical.md 1.4.2). '!=' is left
# to FHIRPath: R4 does not say what it gives on an unanswered question.
_ENABLE_WHEN_NUMERIC = {"==": "=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_FHIRPATH_OPS = {"==": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def _coding(code: str, answers: str, words: Ruleset) -> dict[str, str]:
    return {"system": answers, "code": code, "display": words.texts[f"choice.{code}"]}


def _help(finding: Question) -> dict[str, Any]:
    """The help text as a display item shown on demand (SDC itemControl 'help')."""
    return {
        "linkId": f"{finding.name}.help",
        "text": finding.help,
        "type": "display",
        "extension": [
            {
                "url": _ITEM_CONTROL,
                "valueCodeableConcept": {
                    "coding": [
                        {
                            "system": _ITEM_CONTROL_CODES,
                            "code": "help",
                            "display": "Help-Button",
                        }
                    ]
                },
            }
        ],
    }


def _enable_when(node: Node, answers: str, words: Ruleset) -> dict[str, Any] | None:
    """One enableWhen exactly equal to a leaf of the condition language, or None.

    An unanswered question is unknown to the rules; R4 enableWhen is false on it (except
    'exists'), so only leaves that are false on unknown translate: '==' a known value of a choice,
    a numeric comparison, 'is (not) null' (exists).
    """
    if isinstance(node, IsNull):
        return {"question": node.finding, "operator": "exists", "answerBoolean": node.negated}
    if not isinstance(node, Compare):
        return None
    if FINDINGS[node.finding].is_numeric:
        operator = _ENABLE_WHEN_NUMERIC.get(node.op)
        if operator is None:
            return None
        return {"question": node.finding, "operator": operator, "answerInteger": node.value}
    if node.op == "==" and node.value != UNKNOWN:
        return {
            "question": node.finding,
            "operator": "=",
            "answerCoding": _coding(str(node.value), answers, words),
        }
    return None


def _answers(name: str) -> str:
    return f"%resource.repeat(item).where(linkId='{name}').answer.value"


def fhirpath(node: Node) -> str:
    """The condition as a FHIRPath boolean over %resource (the QuestionnaireResponse).

    Every leaf gives true or false, never empty, so and/or/not() keep two-valued logic. An item
    left unanswered, or answered with only a data-absent-reason, is unknown, as in the rules.
    """
    if isinstance(node, All | Any_):
        joiner = " and " if isinstance(node, All) else " or "
        return joiner.join(_grouped(child) for child in node.children)
    if isinstance(node, Not):
        return f"{_grouped(node.child)}.not()"
    if isinstance(node, IsNull):
        return _answers(node.finding) + (".exists()" if node.negated else ".empty()")
    if isinstance(node, Compare):
        values = _answers(node.finding)
        if FINDINGS[node.finding].is_numeric:
            return f"{values}.where($this {_FHIRPATH_OPS[node.op]} {node.value}).exists()"
        if node.op not in ("==", "!="):  # pragma: no cover (the parser refuses it)
            raise QuestionnaireError(f"'{node.op}' on the choice '{node.finding}'")
        if node.value == UNKNOWN:  # unknown: no answer, or the code 'unknown'
            found = f"{values}.where(code != '{UNKNOWN}')"
            return found + (".empty()" if node.op == "==" else ".exists()")
        found = f"{values}.where(code = '{node.value}')"
        return found + (".exists()" if node.op == "==" else ".empty()")
    raise QuestionnaireError(f"cannot state the condition {node!r} in FHIRPath")


def _grouped(node: Node) -> str:
    text = fhirpath(node)
    return f"({text})" if isinstance(node, All | Any_) else text


def _named(node: Node) -> set[str]:
    """The findings a condition reads; QuestionnaireError for a node this module does not know."""
    if isinstance(node, Compare | IsNull):
        return {node.finding}
    if isinstance(node, Not):
        return _named(node.child)
    if isinstance(node, All | Any_):
        return set().union(*(_named(child) for child in node.children))
    raise QuestionnaireError(f"cannot read the condition {node!r}")


def enablement(name: str, node: Node, answers: str, words: Ruleset) -> dict[str, Any]:
    """The item elements that ask `name` only when `node` holds (clinical.md 2.2).

    `answers` is the answers code system (FhirUrls.answers) the enableWhen codings name; `words`
    the ruleset whose language the displays and descriptions are in.
    """
    named = _named(node)
    if name in named:
        raise QuestionnaireError(f"asked_when {name}: a question cannot depend on itself")
    if named - FINDINGS.keys():  # pragma: no cover (the loader refuses unknown findings)
        raise QuestionnaireError(f"asked_when {name}: no such question {sorted(named)}")
    leaves = list(node.children) if isinstance(node, All | Any_) else [node]
    conditions = [_enable_when(leaf, answers, words) for leaf in leaves]
    if all(condition is not None for condition in conditions):
        elements: dict[str, Any] = {"enableWhen": conditions}
        if len(conditions) > 1:
            elements["enableBehavior"] = "all" if isinstance(node, All) else "any"
        return elements
    return {
        "extension": [
            {
                "url": ENABLE_WHEN_EXPRESSION,
                "valueExpression": {
                    "description": words.texts[f"asked_when.{name}"],
                    "language": "text/fhirpath",
                    "expression": fhirpath(node),
                },
            }
        ]
    }


def asked_when(ruleset: Ruleset) -> dict[str, Node]:
    """The manifest's asked_when, parsed with its helpers: finding -> condition."""
    helpers: dict[str, Node] = {}
    for helper, tree in ruleset.helpers.items():
        helpers[helper] = parse(tree, helpers)
    return {name: parse(tree, helpers) for name, tree in ruleset.asked_when_source.items()}


def _codes(finding: Question, urls: FhirUrls) -> list[dict[str, str]]:
    """LOINC first where there is a code, then ours (what dataRequirement names)."""
    codes = [{"system": urls.findings, "code": finding.name, "display": finding.label}]
    if finding.name in _LOINC:
        code, text = _LOINC[finding.name]
        codes.insert(0, {"system": LOINC, "code": code, "display": text})
    return codes


def _question(
    finding: Question, condition: Node | None, urls: FhirUrls, required: bool, words: Ruleset
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "linkId": finding.name,
        "code": _codes(finding, urls),
        "text": finding.label,
    }
    extensions: list[dict[str, Any]] = []
    if finding.is_numeric:
        low, high = finding.bounds
        item["type"] = "integer"
        extensions += [
            {"url": MIN_VALUE, "valueInteger": low},
            {"url": MAX_VALUE, "valueInteger": high},
        ]
        if finding.name in _UNITS:
            unit = {"system": UCUM, "code": _UNITS[finding.name]}
            unit["display"] = words.texts[f"unit.{finding.name}"]
            extensions.append({"url": UNIT, "valueCoding": unit})
    else:
        item["type"] = "choice"
        item["answerOption"] = [
            {"valueCoding": _coding(value, urls.answers, words)} for value in finding.values
        ]
    if required:
        item["required"] = True
    if condition is not None:
        elements = enablement(finding.name, condition, urls.answers, words)
        extensions += elements.pop("extension", [])
        item.update(elements)
    if extensions:
        item["extension"] = extensions
    item["item"] = [_help(finding)]
    return item


def question_item(finding: Question, urls: FhirUrls, words: Ruleset) -> dict[str, Any]:
    """The item of one question without its enableWhen: for a form whose server decides what to
    ask (an SDC adaptive form), where enableWhen could hide a question the server asks.

    Not required, danger signs included: there the server reads a question asked and left
    unanswered as unknown (and unknown never lowers the result), and writes it back unanswered.
    """
    return _question(finding, None, urls, False, words)


def danger_signs(ruleset: Ruleset) -> tuple[str, ...]:
    """The findings the red-flag screen reads, in question order."""
    screen = next(rule for rule in ruleset.rules if rule.id == ruleset.red_flag_screen)
    return tuple(name for name in ruleset.questions if name in screen.findings)


def _translation(language: str, text: str) -> dict[str, Any]:
    return {
        "url": TRANSLATION,
        "extension": [
            {"url": "lang", "valueCode": language},
            {"url": "content", "valueString": text},
        ],
    }


def _translate(element: Any, others: Mapping[str, Any]) -> None:
    """Add to every text of `element` (in place) the FHIR translation extension with the same
    text of each other language's resource (built alike, so walked in step). enableWhen's
    answerCoding included: it then equals the answerOption coding it names, extension and all
    (LHC-Forms compares the two; tests/web/test_lhc_forms.py fills the questions it enables)."""
    if isinstance(element, dict):
        foreign = element.get("system") in _FOREIGN_SYSTEMS
        for name in _TRANSLATED:
            if isinstance(element.get(name), str) and not foreign:
                element[f"_{name}"] = {
                    "extension": [
                        _translation(language, other[name]) for language, other in others.items()
                    ]
                }
        for name, value in list(element.items()):
            if not name.startswith("_"):
                _translate(value, {language: other[name] for language, other in others.items()})
    elif isinstance(element, list):
        for index, item in enumerate(element):
            _translate(item, {language: other[index] for language, other in others.items()})


def translated_questionnaires(
    rulesets: Mapping[str, Ruleset], urls: FhirUrls, date: str
) -> dict[str, dict[str, Any]]:
    """The Questionnaire in each language, each text carrying the translation extension with
    the text of every other language (the same items, codes and conditions in all)."""
    built = {
        language: build_questionnaire(ruleset, urls, date) for language, ruleset in rulesets.items()
    }
    for language, questionnaire in built.items():
        _translate(questionnaire, {other: q for other, q in built.items() if other != language})
    return built


def layout(ruleset: Ruleset) -> dict[str, tuple[str, ...]]:
    """The Questionnaire's groups in order: group linkId -> its questions' linkIds.

    The danger signs leave their intake group for a group of their own, after the patient's.
    """
    flags = danger_signs(ruleset)
    first = next(iter(GROUPS))
    groups: dict[str, tuple[str, ...]] = {}
    for group in GROUPS:
        groups[group] = tuple(
            name
            for name, finding in ruleset.questions.items()
            if finding.group == group and name not in flags
        )
        if group == first:
            groups[DANGER_SIGNS] = flags
    return groups


def build_questionnaire(ruleset: Ruleset, urls: FhirUrls, date: str) -> dict[str, Any]:
    """The Questionnaire of a ruleset, in its language: one group per intake group and one of
    danger signs.

    `date` is when it was built (the ruleset carries no date; its version is the Questionnaire's).
    Raises QuestionnaireError when the manifest says when a question is asked in a way neither
    enableWhen nor FHIRPath can carry (the app then refuses to start).
    """
    conditions: Mapping[str, Node] = asked_when(ruleset)
    # Each danger sign is required, not their group: LHC-Forms counts a required group as
    # unanswered however its items are answered.
    flags = set(danger_signs(ruleset))
    texts = ruleset.texts
    return {
        "resourceType": "Questionnaire",
        "id": "forefoot-triage",
        "meta": {"profile": [SDC_QUESTIONNAIRE]},
        "language": ruleset.language,
        "url": urls.questionnaire,
        "version": ruleset.version,
        "name": "ForefootTriage",
        "title": texts["questionnaire.title"],
        "status": "active",
        "subjectType": ["Patient"],
        "date": date,
        "publisher": PUBLISHER,
        "description": texts["questionnaire.description"],
        "item": [
            {
                "linkId": group,
                "text": texts[f"questionnaire.group.{group}"],
                "type": "group",
                "item": [
                    _question(
                        ruleset.questions[name], conditions.get(name), urls, name in flags, ruleset
                    )
                    for name in names
                ],
            }
            for group, names in layout(ruleset).items()
        ],
    }
