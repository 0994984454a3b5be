"""The wire form (JSON) of an assessment, a rule and a question: the one place each is written."""

from __future__ import annotations

import functools
from typing import Any

import orjson

from service.domain.assessment import Assessment, FollowUp, Reason
from service.domain.findings import Question
from service.domain.ruleset import Rule, Ruleset


def reason_to_wire(reason: Reason) -> dict[str, Any]:
    """One rationale entry: the fired rule and the findings that made it fire."""
    return {
        **_rule_fields(reason.rule),
        "matched": dict(reason.matched),
        "citations": list(reason.rule.citations),
    }


@functools.lru_cache(maxsize=4096)  # rules are few and never change: one copy per rule object
def _rule_fields(rule: Rule) -> dict[str, Any]:
    """The fields of a rationale entry that are the rule's own (read, never changed)."""
    return {
        "rule_id": rule.id,
        "rule_version": rule.version,
        "title": rule.title,
        "family": rule.family,
        "level": rule.level,
        "urgency": rule.urgency,
        "destination": rule.destination,
        "setting": rule.setting,
        "informational": rule.informational,
        "statement": rule.statement,
    }


def follow_up_to_wire(item: FollowUp) -> dict[str, Any]:
    """One question still worth asking."""
    return {
        "finding": item.finding,
        "question": item.question,
        "could_raise_to": item.could_raise_to,
        "could_raise_level": item.could_raise_level,
        "rules": list(item.rules),
    }


def assessment_to_wire(assessment: Assessment, language_fallback: bool = False) -> dict[str, Any]:
    """The /v1/triage answer (openapi.yaml TriageResponse), in the documented field order;
    `language_fallback` says that the language asked for is not supported (English given)."""
    rationale = [reason_to_wire(reason) for reason in assessment.rationale]
    return _answer(assessment, language_fallback, rationale)


def assessment_json(assessment: Assessment, language_fallback: bool = False) -> bytes:
    """`assessment_to_wire` as JSON, the same bytes as orjson.dumps of it, written faster: each
    rationale entry from its rule's JSON, made once per rule (only `matched` is new), as an
    orjson.Fragment. Building and serialising the entries' rule fields afresh for every answer
    cost a fifth of the answer's JSON writing."""
    entries = b",".join([_reason_json(reason) for reason in assessment.rationale])
    return orjson.dumps(_answer(assessment, language_fallback, orjson.Fragment(b"[%b]" % entries)))


def _reason_json(reason: Reason) -> bytes:
    """`reason_to_wire(reason)` as JSON."""
    before, after = _rule_json(reason.rule)
    # `matched` is a dict (the rule's explainer makes one); default=dict writes any other
    # Mapping as reason_to_wire's copy would, without copying a dict on every answer.
    return before + orjson.dumps(reason.matched, default=dict) + after


@functools.lru_cache(maxsize=4096)  # as _rule_fields: one per rule object
def _rule_json(rule: Rule) -> tuple[bytes, bytes]:
    """A rationale entry's JSON around its `matched` value: the rule's fields, then citations."""
    fields = orjson.dumps(_rule_fields(rule))
    citations = orjson.dumps(list(rule.citations))
    return fields[:-1] + b',"matched":', b',"citations":%b}' % citations


def _answer(assessment: Assessment, language_fallback: bool, rationale: Any) -> dict[str, Any]:
    """The answer's fields in the documented order, its rationale as given (entries or JSON)."""
    names = assessment.destination_names
    return {
        "decision_id": assessment.decision_id,
        "level": assessment.level,
        "urgency": assessment.urgency,
        "escalation": assessment.escalation,
        "destination": assessment.destination,
        "destination_name": names[assessment.destination],
        "setting": assessment.setting,
        "needs_clinician_review": assessment.needs_clinician_review,
        "referrals": [
            {
                "rule_id": referral.rule_id,
                "level": referral.level,
                "urgency": referral.urgency,
                "destination": referral.destination,
                "destination_name": names[referral.destination],
            }
            for referral in assessment.referrals
        ],
        "rationale": rationale,
        "advice": list(assessment.advice),
        "follow_up": [follow_up_to_wire(item) for item in assessment.follow_up],
        "citations": list(assessment.citations),
        "ruleset": dict(assessment.ruleset),
        "language": assessment.language,
        "translation_status": assessment.translation_status,
        "language_fallback": language_fallback,
        "disclaimer": assessment.disclaimer,
    }


def rule_to_wire(rule: Rule, ruleset: Ruleset) -> dict[str, Any]:
    """One rule of GET /v1/rules: its outcome, statement, advice, citations and findings read."""
    return {
        "id": rule.id,
        "version": rule.version,
        "title": rule.title,
        "family": rule.family,
        "level": rule.level,
        "urgency": rule.urgency,
        "escalation": rule.escalation,
        "destination": rule.destination,
        "setting": rule.setting,
        "needs_clinician_review": rule.needs_clinician_review,
        "informational": rule.informational,
        "statement": rule.statement,
        "advice": ruleset.advice_texts(rule),
        "citations": list(rule.citations),
        "findings": sorted(rule.findings),
    }


def question_to_wire(question: Question, words: Ruleset) -> dict[str, Any]:
    """One question of GET /v1/questions (and of the interview), in `words`' language; a
    situational question says when it is asked."""
    wire: dict[str, Any] = {
        "finding": question.name,
        "group": question.group,
        "type": question.kind,
        "label": question.label,
        "help": question.help,
    }
    if question.is_numeric:
        wire.update(minimum=question.minimum, maximum=question.maximum)
    else:
        wire["allowed_values"] = list(question.values)
        # The same codes with the words a form shows for them (the help texts name them so).
        wire["choices"] = [
            {"value": value, "label": words.texts[f"choice.{value}"]} for value in question.values
        ]
    if question.name in words.asked_when_source:
        wire["asked_when"] = words.texts[f"asked_when.{question.name}"]
    return wire
