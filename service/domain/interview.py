"""The adaptive interview: the next question(s) for a partial intake, and a proven stop (no Flask).

A finding absent from the intake has not been asked yet; one present (an answer, "unknown" or
null) has been asked. Every rule condition is evaluated in Kleene logic (service.kleene) with
NOT_ASKED for the findings not asked: a rule is decided to fire (True), decided silent (False) or
undecided. Every completion of the intake (any answer to every question left, "unknown" and
any number in range included) fires all the decided rules, none of the silent ones, and some
subset of the undecided ones; the undecided ones are treated as independent, which can only
overstate what is undecided.

The disposition (level, urgency, destination, setting, needs_clinician_review; escalation
follows the urgency) is decided when it is the same for every such subset. Aggregation
(clinical.md 1.2) makes each field easy to bound exactly over the subsets: urgency and level
are maxima and the review flag and the in-person setting are "any", so each is decided exactly
when no undecided rule could raise it above what the decided rules give; the destination is
that of the first fired rule in rank order, so it is decided exactly when no undecided rule
ranked before the first decided rule (or, with none decided, any undecided rule) has another
destination. The interview is `complete` when all five are decided; then /v1/triage gives
that disposition on the intake completed in any way at all (tests/test_interview_property.py).

A question asked only in some situations (the manifest's asked_when, clinical.md 2.2) whose
situation is false whatever the answers left is not part of this patient's form: it is left out
and reads as unknown, as the full form leaves it out. One whose situation is still undecided is
not asked yet; the questions its situation reads (onset, age) are asked first.

The order of the questions is data (rules/interview/order.yaml, InterviewPolicy): the danger
signs first as one group, a started group of related questions finished, then, of the
questions that can decide the most serious undecided rule, the one that can decide the most
undecided rules (ties: the one listed first in the policy).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from service.domain.assessment import Assessment
from service.domain.conditions import Node, findings_of, parse
from service.domain.decision import Decision, decide
from service.domain.findings import FINDINGS, Finding
from service.domain.intake_schema import UNKNOWN
from service.domain.kleene import NOT_ASKED, Residual, residual
from service.domain.ruleset import Rule, Ruleset
from service.domain.ruleset_loader import read_yaml
from service.exceptions import ConditionError, TriageError

POLICY_FILE = Path("interview") / "order.yaml"
DISPOSITION = ("level", "urgency", "destination", "setting", "needs_clinician_review")
Status = Literal["ask", "complete"]


class InterviewPolicyError(TriageError):
    """The question order file is missing or invalid: the service must not start."""


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class _GroupSchema(_Strict):
    id = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]*$"))
    title = fields.String(required=True, validate=validate.Length(min=1))
    why = fields.String(required=True, validate=validate.Length(min=1))
    first = fields.Boolean(load_default=False)
    together = fields.Boolean(load_default=False)
    questions = fields.List(fields.String(), required=True, validate=validate.Length(min=1))


class _PolicySchema(_Strict):
    id = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_-]*$"))
    version = fields.String(required=True, validate=validate.Length(min=1))
    title = fields.String(required=True, validate=validate.Length(min=1))
    groups = fields.List(fields.Nested(_GroupSchema), required=True, validate=validate.Length(1))


@dataclass(frozen=True)
class QuestionGroup:
    """Related questions of the policy, asked together when several are requested at once."""

    id: str
    title: str
    why: str
    first: bool
    together: bool
    questions: tuple[str, ...]


@dataclass(frozen=True)
class InterviewPolicy:
    """The question order: groups in order, every finding of the intake in exactly one."""

    id: str
    version: str
    sha256: str
    groups: tuple[QuestionGroup, ...]

    @property
    def identity(self) -> dict[str, str]:
        return {"id": self.id, "version": self.version, "sha256": self.sha256}

    def group_of(self, name: str) -> QuestionGroup:
        return next(group for group in self.groups if name in group.questions)

    def position(self, name: str) -> int:
        """The finding's place in the whole order (groups in order, questions in order)."""
        return [name for group in self.groups for name in group.questions].index(name)


def load_policy(rules_dir: str | Path) -> InterviewPolicy:
    """Read and check rules/interview/order.yaml; raise InterviewPolicyError naming the fault."""
    path = Path(rules_dir) / POLICY_FILE
    try:
        data = read_yaml(path)
    except OSError as error:
        raise InterviewPolicyError(f"{path}: cannot be read: {error.strerror or error}") from None
    except Exception as error:  # yaml errors: the message names the line
        raise InterviewPolicyError(f"{path}: not valid YAML: {error}") from None
    try:
        spec = _PolicySchema().load(data)
    except ValidationError as error:
        raise InterviewPolicyError(f"{path}: {error.messages}") from None
    groups = tuple(
        QuestionGroup(
            raw["id"],
            raw["title"],
            raw["why"],
            raw["first"],
            raw["together"],
            tuple(raw["questions"]),
        )
        for raw in spec["groups"]
    )
    listed = [name for group in groups for name in group.questions]
    if unknown := sorted(set(listed) - set(FINDINGS)):
        raise InterviewPolicyError(f"{path}: not a finding of the intake: {', '.join(unknown)}")
    if twice := sorted({name for name in listed if listed.count(name) > 1}):
        raise InterviewPolicyError(f"{path}: listed more than once: {', '.join(twice)}")
    if missing := [name for name in FINDINGS if name not in listed]:
        raise InterviewPolicyError(f"{path}: not listed: {', '.join(missing)}")
    if len({group.id for group in groups}) != len(groups):
        raise InterviewPolicyError(f"{path}: a group id is used twice")
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return InterviewPolicy(spec["id"], spec["version"], digest, groups)


@dataclass(frozen=True)
class Disposition:
    """The five fields the interview proves (escalation follows the urgency)."""

    level: str
    urgency: str
    destination: str
    setting: str
    needs_clinician_review: bool

    @classmethod
    def of(cls, answer: Mapping[str, Any] | Decision | Assessment) -> Disposition:
        """The disposition of a wire answer (a /v1/triage body), a Decision or an Assessment."""
        if isinstance(answer, Decision | Assessment):
            return cls(
                answer.level,
                answer.urgency,
                answer.destination,
                answer.setting,
                answer.needs_clinician_review,
            )
        return cls(*(answer[name] for name in DISPOSITION))


@dataclass(frozen=True)
class NextQuestion:
    """A question to ask now, and why: the undecided rules it can decide, the most they reach."""

    finding: Finding
    group: QuestionGroup
    rules: tuple[Rule, ...]  # undecided rules that can still change the disposition, rank order
    urgency: str  # the highest urgency among those rules
    level: str  # the highest level among those rules


@dataclass(frozen=True)
class Step:
    """Where a partial intake stands: ask these questions, or complete with a proven disposition."""

    status: Status
    questions: tuple[NextQuestion, ...]
    answered: tuple[str, ...]  # findings present in the intake
    relevant: tuple[str, ...]  # findings not asked that can still change the disposition
    fired: tuple[Rule, ...]  # rules that fire whatever the answers left
    undecided: tuple[Rule, ...]  # rules that may fire or not, depending on the answers left
    decided: tuple[str, ...]  # disposition fields no answer left can change
    disposition: Disposition | None  # when complete: the disposition every completion gives


def _rank_key(rule: Rule) -> tuple[int, int, tuple[int, int, int, int]]:
    """Rank order (clinical.md 1.2 step 4): the smaller, the earlier."""
    return (-rule.rank[0], -rule.rank[1], rule.order)


def _situations(ruleset: Ruleset) -> dict[str, Node]:
    """The manifest's asked_when conditions as trees (the ruleset keeps them compiled)."""
    helpers: dict[str, Node] = {}
    try:
        for name, tree in ruleset.helpers.items():
            helpers[name] = parse(tree, helpers)
        situations = {
            name: parse(tree, helpers) for name, tree in ruleset.asked_when_source.items()
        }
    except ConditionError as error:  # pragma: no cover (the ruleset loader parsed them already)
        raise InterviewPolicyError(f"asked_when: {error}") from None
    for name, node in situations.items():
        if reads := sorted(findings_of(node) & situations.keys()):
            raise InterviewPolicyError(
                f"asked_when {name}: reads {', '.join(reads)}, itself asked only in some situations"
            )
    return situations


class Interviewer:
    """Built once per ruleset and policy; step() is pure and framework-free."""

    def __init__(self, ruleset: Ruleset, policy: InterviewPolicy) -> None:
        self.ruleset = ruleset
        self.policy = policy
        self._rules = tuple(rule for rule in ruleset.rules if rule.when is not None)
        self._situations = _situations(ruleset)
        self._position = {name: policy.position(name) for name in FINDINGS}
        self._lowest_level = ruleset.levels[0]
        self._in_person = ruleset.settings[-1]

    def facts(self, intake: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
        """Each finding's answer as the rules read it, NOT_ASKED when absent from the intake.

        A situational question whose situation is false whatever the answers left is left out
        by the form: it reads as unknown (None for a number), a definite value.
        """
        facts: dict[str, Any] = {}
        for name, finding in FINDINGS.items():
            answers = intake.get(finding.group) or {}
            if name not in answers:
                facts[name] = NOT_ASKED
                continue
            value = answers[name]
            facts[name] = UNKNOWN if value is None and not finding.is_numeric else value
        for name, situation in self._situations.items():
            if facts[name] is NOT_ASKED and self._could_apply(situation, facts) is False:
                facts[name] = None if FINDINGS[name].is_numeric else UNKNOWN
        return facts

    @staticmethod
    def _could_apply(situation: Node, facts: Mapping[str, Any]) -> Residual:
        """Whether a situation holds, reading an opener answered unknown as any answer.

        Onset answered unknown may still be an injury (clinical.md 1.4.3, R7: UR1, UR2, UR4 and
        UR15 read it so), so the injury-only questions stay askable, as follow_up lists them.
        """
        relaxed = {
            name: NOT_ASKED if facts[name] is None or facts[name] == UNKNOWN else facts[name]
            for name in findings_of(situation)
        }
        return residual(situation, {**facts, **relaxed})

    def step(self, intake: Mapping[str, Mapping[str, Any]], max_questions: int = 1) -> Step:
        """The next question(s) for a validated partial intake, or complete (see the module)."""
        if max_questions < 1:
            raise ValueError("max_questions must be at least 1")
        facts = self.facts(intake)
        answered = tuple(
            name for name, finding in FINDINGS.items() if name in (intake.get(finding.group) or {})
        )
        values = {rule: residual(rule.when, facts) for rule in self._rules if rule.when is not None}
        fired = [rule for rule, value in values.items() if value is True]
        pending = {rule: value for rule, value in values.items() if not isinstance(value, bool)}
        undecided = list(pending)
        open_rules = self._open_rules(fired, undecided)
        decided = tuple(name for name in DISPOSITION if not open_rules[name])
        mattering = {rule for rules in open_rules.values() for rule in rules}
        # finding -> the rules (still able to change the disposition) whose residual reads it
        reads: dict[str, set[Rule]] = {}
        for rule in mattering:
            for name in findings_of(pending[rule]):
                reads.setdefault(name, set()).add(rule)
        relevant = tuple(sorted(reads, key=self._position.__getitem__))
        # A situational question with its situation undecided is asked after what decides it.
        askable: dict[str, set[Rule]] = {}
        for name, rules in reads.items():
            situation = self._situations.get(name)
            state = True if situation is None else residual(situation, facts)
            if isinstance(state, bool):  # holds, or could hold behind an unknown answer
                askable.setdefault(name, set()).update(rules)
            else:  # what decides the situation is asked first
                for opener in findings_of(state):
                    askable.setdefault(opener, set()).update(rules)
        ordered_fired = tuple(sorted(fired, key=_rank_key))
        ordered_undecided = tuple(sorted(undecided, key=_rank_key))
        if len(decided) == len(DISPOSITION):
            return Step(
                "complete",
                (),
                answered,
                relevant,
                ordered_fired,
                ordered_undecided,
                decided,
                Disposition.of(decide((rule.id for rule in fired), self.ruleset)),
            )
        chosen = self._choose(askable, facts, max_questions)
        return Step(
            "ask",
            tuple(self._question(name, askable[name]) for name in chosen),
            answered,
            tuple(sorted(set(relevant) | set(askable), key=self._position.__getitem__)),
            ordered_fired,
            ordered_undecided,
            decided,
            None,
        )

    def _open_rules(
        self, fired: Sequence[Rule], undecided: Sequence[Rule]
    ) -> dict[str, list[Rule]]:
        """For each disposition field, the undecided rules whose firing could change it."""
        default = self.ruleset.default
        urgency = max((rule.rank[0] for rule in fired), default=default.rank[0])
        level = max(
            (rule.rank[1] for rule in fired if not rule.informational), default=default.rank[1]
        )
        review = any(rule.needs_clinician_review for rule in fired)
        in_person = any(self._makes_in_person(rule) for rule in fired)
        if fired:
            first = min(fired, key=_rank_key)
            destination = [
                rule
                for rule in undecided
                if _rank_key(rule) < _rank_key(first) and rule.destination != first.destination
            ]
        else:
            destination = [rule for rule in undecided if rule.destination != default.destination]
        return {
            "level": [
                rule for rule in undecided if not rule.informational and rule.rank[1] > level
            ],
            "urgency": [rule for rule in undecided if rule.rank[0] > urgency],
            "destination": destination,
            "setting": [] if in_person else [r for r in undecided if self._makes_in_person(r)],
            "needs_clinician_review": (
                [] if review else [rule for rule in undecided if rule.needs_clinician_review]
            ),
        }

    def _makes_in_person(self, rule: Rule) -> bool:
        """clinical.md 1.6: a fired rule above self-care whose setting is in person."""
        return rule.level != self._lowest_level and rule.setting == self._in_person

    def _choose(
        self, askable: Mapping[str, Iterable[Rule]], facts: Mapping[str, Any], limit: int
    ) -> list[str]:
        """The next question and, up to `limit`, the others of its group that can matter.

        Of the questions that can decide the most serious undecided rule, the one that can
        decide the most undecided rules that matter; ties go to the policy's order.
        """
        by_group: dict[str, list[str]] = {}
        for name in sorted(askable, key=self._position.__getitem__):
            by_group.setdefault(self.policy.group_of(name).id, []).append(name)
        groups = [group for group in self.policy.groups if group.id in by_group]
        chosen: str | None = None
        for group in groups:  # 1. the danger signs first
            if group.first:
                chosen = by_group[group.id][0]
                break
        if chosen is None:  # 2. a started group of related questions is finished
            for group in groups:
                if group.together and any(facts[name] is not NOT_ASKED for name in group.questions):
                    chosen = by_group[group.id][0]
                    break
        if chosen is None:  # 3. what decides the most serious undecided rule
            most_serious = min(
                (rule for rules in askable.values() for rule in rules), key=_rank_key
            )
            chosen = min(
                (name for name, rules in askable.items() if most_serious in rules),
                key=lambda name: (-len(set(askable[name])), self._position[name]),
            )
        group_id = self.policy.group_of(chosen).id
        others = [name for name in by_group[group_id] if name != chosen]
        picked = {chosen, *others[: limit - 1]}
        return [name for name in by_group[group_id] if name in picked]

    def _question(self, name: str, rules: Iterable[Rule]) -> NextQuestion:
        ordered = tuple(sorted(set(rules), key=_rank_key))
        urgency = max(rule.rank[0] for rule in ordered)
        level = max(rule.rank[1] for rule in ordered)
        return NextQuestion(
            FINDINGS[name],
            self.policy.group_of(name),
            ordered,
            self.ruleset.urgencies[urgency],
            self.ruleset.levels[level],
        )
