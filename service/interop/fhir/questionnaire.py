"""The R4 Questionnaire generated from the question catalogue (FINDINGS) and the manifest.

When a situational question is asked (clinical.md 2.2) comes from the manifest's `asked_when`,
parsed in the rule condition language: a condition that is one comparison, or an all/any of
comparisons, that R4 `enableWhen` states exactly becomes `enableWhen`; anything else becomes the
SDC `enableWhenExpression` extension, a FHIRPath expression over the response being filled in.
A condition neither can carry is a build error, never a question silently asked of everyone.
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
    ANSWERS_SYSTEM,
    MAX_VALUE,
    MIN_VALUE,
    QUESTIONNAIRE_URL,
)

TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"
# The string elements of our Questionnaire that people read: each carries a translation.
_TRANSLATED = ("text", "title", "description", "display")
_ITEM_CONTROL = "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl"
ENABLE_WHEN_EXPRESSION = (
    "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-enableWhenExpression"
)
# Numeric comparisons R4 enableWhen states exactly: an unanswered question makes them false,
# as a comparison with an unknown number is false in the rules (clinical.md 1.4.2). '!=' is left
# to FHIRPath: R4 does not say what it gives on an unanswered question.
_ENABLE_WHEN_NUMERIC = {"==": "=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_FHIRPATH_OPS = {"==": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def _coding(code: str, words: Ruleset) -> dict[str, str]:
    return {"system": ANSWERS_SYSTEM, "code": code, "display": words.texts[f"choice.{code}"]}


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
                            "system": "http://hl7.org/fhir/questionnaire-item-control",
                            "code": "help",
                            "display": "Help-Button",
                        }
                    ]
                },
            }
        ],
    }


def _enable_when(node: Node, words: Ruleset) -> dict[str, Any] | None:
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
        coding = _coding(str(node.value), words)
        return {"question": node.finding, "operator": "=", "answerCoding": coding}
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


def enablement(name: str, node: Node, words: Ruleset) -> dict[str, Any]:
    """The item elements that ask `name` only when `node` holds (clinical.md 2.2)."""
    named = _named(node)
    if name in named:
        raise QuestionnaireError(f"asked_when {name}: a question cannot depend on itself")
    if named - FINDINGS.keys():  # pragma: no cover (the loader refuses unknown findings)
        raise QuestionnaireError(f"asked_when {name}: no such question {sorted(named)}")
    leaves = list(node.children) if isinstance(node, All | Any_) else [node]
    conditions = [_enable_when(leaf, words) for leaf in leaves]
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


def _question(finding: Question, condition: Node | None, words: Ruleset) -> dict[str, Any]:
    item: dict[str, Any] = {"linkId": finding.name, "text": finding.label}
    extensions: list[dict[str, Any]] = []
    if finding.is_numeric:
        low, high = finding.bounds
        item["type"] = "integer"
        extensions += [
            {"url": MIN_VALUE, "valueInteger": low},
            {"url": MAX_VALUE, "valueInteger": high},
        ]
    else:
        item["type"] = "choice"
        item["answerOption"] = [{"valueCoding": _coding(value, words)} for value in finding.values]
    if condition is not None:
        elements = enablement(finding.name, condition, words)
        extensions += elements.pop("extension", [])
        item.update(elements)
    if extensions:
        item["extension"] = extensions
    item["item"] = [_help(finding)]
    return item


def question_item(finding: Question, words: Ruleset) -> dict[str, Any]:
    """The item of one question without its enableWhen: for a form whose server decides what to
    ask (an SDC adaptive form), where enableWhen could hide a question the server asks."""
    return _question(finding, None, words)


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
    text of each other language's resource (built alike, so walked in step)."""
    if isinstance(element, dict):
        for name in _TRANSLATED:
            if isinstance(element.get(name), str):
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


def translated_questionnaires(rulesets: Mapping[str, Ruleset]) -> dict[str, dict[str, Any]]:
    """The Questionnaire in each language, each text carrying the translation extension with
    the text of every other language (the same items, codes and conditions in all)."""
    built = {language: build_questionnaire(ruleset) for language, ruleset in rulesets.items()}
    for language, questionnaire in built.items():
        _translate(questionnaire, {other: q for other, q in built.items() if other != language})
    return built


def build_questionnaire(ruleset: Ruleset) -> dict[str, Any]:
    """The Questionnaire of a ruleset, in its language: one group per intake group, linkId =
    finding.

    Raises QuestionnaireError when the manifest says when a question is asked in a way neither
    enableWhen nor FHIRPath can carry (the app then refuses to start).
    """
    conditions: Mapping[str, Node] = asked_when(ruleset)
    texts = ruleset.texts
    return {
        "resourceType": "Questionnaire",
        "id": "forefoot-triage",
        "language": ruleset.language,
        "url": QUESTIONNAIRE_URL,
        "version": ruleset.version,
        "name": "ForefootTriage",
        "title": texts["questionnaire.title"],
        "status": "active",
        "subjectType": ["Patient"],
        "description": texts["questionnaire.description"],
        "item": [
            {
                "linkId": group,
                "text": texts[f"questionnaire.group.{group}"],
                "type": "group",
                "item": [
                    _question(finding, conditions.get(finding.name), ruleset)
                    for finding in ruleset.questions.values()
                    if finding.group == group
                ],
            }
            for group in GROUPS
        ],
    }
