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
from service.domain.wording import display
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
_GROUP_TEXT = {
    "patient": "Patient",
    DANGER_SIGNS: "Danger signs: answer each one (choose Unknown if you are not sure)",
    "history": "History",
    "symptoms": "Symptoms",
}
SDC_QUESTIONNAIRE = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire"
# Standard codes, only where one means exactly our question (verified against loinc.org).
_LOINC = {
    "age_years": ("30525-0", "Age"),
    "pain_nrs": ("72514-3", "Pain severity - 0-10 verbal numeric rating [Score] - Reported"),
}
# The UCUM unit of each integer question ({...} is a UCUM annotation: a count or a score).
_UNITS = {
    "age_years": ("a", "years"),
    "conservative_care_weeks": ("wk", "weeks"),
    "days_since_onset": ("d", "days"),
    "pain_nrs": ("{score}", "score (0 to 10)"),
    "steps_immediately": ("{steps}", "steps"),
    "steps_now": ("{steps}", "steps"),
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


def _coding(code: str, answers: str) -> dict[str, str]:
    return {"system": answers, "code": code, "display": display(code)}


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


def _enable_when(node: Node, answers: str) -> dict[str, Any] | None:
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
            "answerCoding": _coding(str(node.value), answers),
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


def enablement(name: str, node: Node, answers: str) -> dict[str, Any]:
    """The item elements that ask `name` only when `node` holds (clinical.md 2.2).

    `answers` is the answers code system (FhirUrls.answers) the enableWhen codings name.
    """
    named = _named(node)
    if name in named:
        raise QuestionnaireError(f"asked_when {name}: a question cannot depend on itself")
    if named - FINDINGS.keys():  # pragma: no cover (the loader refuses unknown findings)
        raise QuestionnaireError(f"asked_when {name}: no such question {sorted(named)}")
    leaves = list(node.children) if isinstance(node, All | Any_) else [node]
    conditions = [_enable_when(leaf, answers) for leaf in leaves]
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
                    "description": f"When '{name}' is asked (clinical.md 2.2)",
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
    finding: Question, condition: Node | None, urls: FhirUrls, required: bool
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
            unit, text = _UNITS[finding.name]
            extensions.append(
                {"url": UNIT, "valueCoding": {"system": UCUM, "code": unit, "display": text}}
            )
    else:
        item["type"] = "choice"
        item["answerOption"] = [
            {"valueCoding": _coding(value, urls.answers)} for value in finding.values
        ]
    if required:
        item["required"] = True
    if condition is not None:
        elements = enablement(finding.name, condition, urls.answers)
        extensions += elements.pop("extension", [])
        item.update(elements)
    if extensions:
        item["extension"] = extensions
    item["item"] = [_help(finding)]
    return item


def question_item(finding: Question, urls: FhirUrls) -> dict[str, Any]:
    """The item of one question without its enableWhen: for a form whose server decides what to
    ask (an SDC adaptive form), where enableWhen could hide a question the server asks.

    Not required, danger signs included: there the server reads a question asked and left
    unanswered as unknown (and unknown never lowers the result), and writes it back unanswered.
    """
    return _question(finding, None, urls, required=False)


def danger_signs(ruleset: Ruleset) -> tuple[str, ...]:
    """The findings the red-flag screen reads, in question order."""
    screen = next(rule for rule in ruleset.rules if rule.id == ruleset.red_flag_screen)
    return tuple(name for name in ruleset.questions if name in screen.findings)


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
    """The Questionnaire of a ruleset: one group per intake group and one of danger signs.

    `date` is when it was built (the ruleset carries no date; its version is the Questionnaire's).
    Raises QuestionnaireError when the manifest says when a question is asked in a way neither
    enableWhen nor FHIRPath can carry (the app then refuses to start).
    """
    conditions: Mapping[str, Node] = asked_when(ruleset)
    # Each danger sign is required, not their group: LHC-Forms counts a required group as
    # unanswered however its items are answered.
    flags = set(danger_signs(ruleset))
    return {
        "resourceType": "Questionnaire",
        "id": "forefoot-triage",
        "meta": {"profile": [SDC_QUESTIONNAIRE]},
        "url": urls.questionnaire,
        "version": ruleset.version,
        "name": "ForefootTriage",
        "title": "Forefoot (ball-of-foot) pain triage",
        "status": "active",
        "subjectType": ["Patient"],
        "date": date,
        "publisher": PUBLISHER,
        "description": (
            "The intake of the forefoot-triage service. Answer what you can: an item left out, "
            "or answered with the data-absent-reason extension, is unknown, and unknown never "
            "lowers a result. The danger signs are required, and Unknown is an answer to each. "
            "A few questions are asked only in some situations (enableWhen, or the SDC "
            "enableWhenExpression extension); an answer to one of them is still read."
        ),
        "item": [
            {
                "linkId": group,
                "text": _GROUP_TEXT[group],
                "type": "group",
                "item": [
                    _question(ruleset.questions[name], conditions.get(name), urls, name in flags)
                    for name in names
                ],
            }
            for group, names in layout(ruleset).items()
        ],
    }
